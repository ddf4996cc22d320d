// Prometheus text format (0.0.4): the one writer behind the controller's registry and the agent's metrics.

/** Label names and values; written in the order given (a Registry sorts them by name first). */
export type Labels = Readonly<Record<string, string | number>>;

/** One line of a family: `<name><suffix>{labels} value`; histograms use the _bucket, _sum and _count suffixes. */
export interface Sample {
  suffix?: "_bucket" | "_sum" | "_count";
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  samples: readonly Sample[];
}

function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function labelText(labels: Labels): string {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(String(v))}"`)
    .join(",");
  return body === "" ? "" : `{${body}}`;
}

function formatNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN";
}

/** Families in the order given: HELP, TYPE, then each sample; the text ends with a newline. */
export function renderFamilies(families: readonly MetricFamily[]): string {
  const lines = families.flatMap((f) => [
    `# HELP ${f.name} ${f.help}`,
    `# TYPE ${f.name} ${f.type}`,
    ...f.samples.map((s) => `${f.name}${s.suffix ?? ""}${labelText(s.labels)} ${formatNumber(s.value)}`),
  ]);
  return `${lines.join("\n")}\n`;
}

/**
 * The process's memory, under the names Prometheus client libraries use: what an administrator alerts on
 * (resident memory against the container's limit) and what tells a leak (heap used) from V8's slack.
 */
export function processMemoryFamilies(usage: NodeJS.MemoryUsage = process.memoryUsage()): MetricFamily[] {
  const gauge = (name: string, help: string, value: number): MetricFamily => ({
    name,
    type: "gauge",
    help,
    samples: [{ labels: {}, value }],
  });
  return [
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", usage.rss),
    gauge("nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", usage.heapTotal),
    gauge("nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", usage.heapUsed),
    gauge("nodejs_external_memory_bytes", "Node.js external memory size in bytes.", usage.external),
  ];
}

/** A histogram without labels: cumulative bucket counts, their sum and count. */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((le, i) => {
      if (value <= le) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }

  samples(): Sample[] {
    return [
      ...this.buckets.map((le, i): Sample => ({
        suffix: "_bucket",
        labels: { le },
        value: this.counts[i] ?? 0,
      })),
      { suffix: "_bucket", labels: { le: "+Inf" }, value: this.count },
      { suffix: "_sum", labels: {}, value: this.sum },
      { suffix: "_count", labels: {}, value: this.count },
    ];
  }
}

/** A family's series in first-seen order; {a,b} and {b,a} are one series, written with sorted names. */
class Series {
  private readonly byLabels = new Map<string, Sample>();

  update(labels: Labels, next: (value: number) => number): void {
    const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    const key = labelText(sorted);
    this.byLabels.set(key, { labels: sorted, value: next(this.byLabels.get(key)?.value ?? 0) });
  }

  clear(): void {
    this.byLabels.clear();
  }

  samples(): Sample[] {
    return [...this.byLabels.values()];
  }
}

/** Counters, gauges and histograms registered by name, rendered in registration order. */
export class Registry {
  private readonly families: (() => MetricFamily)[] = [];
  private readonly collectors: (() => readonly MetricFamily[])[] = [];

  private add(name: string, help: string, type: MetricFamily["type"], samples: () => Sample[]): void {
    this.families.push(() => ({ name, help, type, samples: samples() }));
  }

  counter(name: string, help: string): { inc(labels?: Labels, by?: number): void } {
    const series = new Series();
    this.add(name, help, "counter", () => series.samples());
    return {
      inc: (labels = {}, by = 1) => {
        series.update(labels, (v) => v + by);
      },
    };
  }

  gauge(name: string, help: string): { set(value: number, labels?: Labels): void; reset(): void } {
    const series = new Series();
    this.add(name, help, "gauge", () => series.samples());
    return {
      set: (value, labels = {}) => {
        series.update(labels, () => value);
      },
      reset: () => {
        series.clear();
      },
    };
  }

  histogram(name: string, help: string, buckets: readonly number[]): { observe(value: number): void } {
    const histogram = new Histogram(buckets);
    this.add(name, help, "histogram", () => histogram.samples());
    return histogram;
  }

  /** Families computed at each scrape (e.g. processMemoryFamilies), after the registered ones. */
  collect(families: () => readonly MetricFamily[]): void {
    this.collectors.push(families);
  }

  render(): string {
    return renderFamilies([
      ...this.families.map((family) => family()),
      ...this.collectors.flatMap((c) => c()),
    ]);
  }
}
