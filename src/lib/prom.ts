// A minimal Prometheus text-format (0.0.4) registry: counters, gauges and histograms with labels.

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const body = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`)
    .join(",");
  return body === "" ? "" : `{${body}}`;
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(): string[];
}

export class Registry {
  private readonly families: Family[] = [];

  counter(name: string, help: string): { inc(labels?: Labels, by?: number): void } {
    const values = new Map<string, number>();
    this.families.push({
      name,
      help,
      type: "counter",
      render: () => [...values].map(([l, v]) => `${name}${l} ${v}`),
    });
    return {
      inc: (labels = {}, by = 1) => {
        const k = labelText(labels);
        values.set(k, (values.get(k) ?? 0) + by);
      },
    };
  }

  gauge(name: string, help: string): { set(value: number, labels?: Labels): void; reset(): void } {
    const values = new Map<string, number>();
    this.families.push({
      name,
      help,
      type: "gauge",
      render: () => [...values].map(([l, v]) => `${name}${l} ${v}`),
    });
    return {
      set: (value, labels = {}) => values.set(labelText(labels), value),
      reset: () => {
        values.clear();
      },
    };
  }

  histogram(name: string, help: string, buckets: readonly number[]): { observe(value: number): void } {
    const counts = buckets.map(() => 0);
    let sum = 0;
    let count = 0;
    this.families.push({
      name,
      help,
      type: "histogram",
      render: () => [
        ...buckets.map((le, i) => `${name}_bucket{le="${le}"} ${counts[i] ?? 0}`),
        `${name}_bucket{le="+Inf"} ${count}`,
        `${name}_sum ${sum}`,
        `${name}_count ${count}`,
      ],
    });
    return {
      observe: (value) => {
        sum += value;
        count++;
        buckets.forEach((le, i) => {
          if (value <= le) counts[i] = (counts[i] ?? 0) + 1;
        });
      },
    };
  }

  render(): string {
    return `${this.families.flatMap((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render()]).join("\n")}\n`;
  }
}
