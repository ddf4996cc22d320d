// The bench's plots as plain SVG text: a failover timeline, the failover gap distribution and the scale
// curve. Pure functions of the report's plot data; no dependency.
import type { PlotData, TimelineLane } from "./report.js";

const FONT = `font-family="DejaVu Sans, Helvetica, Arial, sans-serif"`;
const COLORS = ["#c0392b", "#2471a3", "#1e8449", "#7d3c98", "#b9770e", "#148f77"];

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function doc(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, attrs: string): string {
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" ${attrs}/>`;
}

/** "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function ticks(lo: number, hi: number, about = 8): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / about;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

function ms(v: number): string {
  return Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)} s` : `${Math.round(v)} ms`;
}

/** Client replies around the cut (t = 0), one lane per configuration, its median trial. */
export function timelineSvg(lanes: readonly TimelineLane[]): string {
  const width = 960;
  const left = 250;
  const right = 30;
  const laneH = 46;
  const top = 48;
  const height = top + lanes.length * laneH + 60;
  const end = Math.max(1000, ...lanes.map((l) => (Number.isFinite(l.gapMs) ? l.gapMs : 0) + 1000));
  const [lo, hi] = [-500, Math.ceil(end / 500) * 500];
  const x = (t: number): number => left + ((t - lo) / (hi - lo)) * (width - left - right);
  const body: string[] = [];
  const bottom = top + lanes.length * laneH;
  for (const t of ticks(lo, hi, 10)) {
    body.push(line(x(t), top, x(t), bottom, `stroke="#e5e5e5"`));
    body.push(text(x(t), bottom + 16, ms(t), `text-anchor="middle" fill="#444"`));
  }
  body.push(
    text(
      (left + width - right) / 2,
      bottom + 40,
      "time from the link cut (each tick: one ping reply; the client pings every 10 ms)",
      `text-anchor="middle"`,
    ),
  );
  lanes.forEach((l, i) => {
    const y = top + i * laneH;
    const color = COLORS[i % COLORS.length] ?? "#000";
    body.push(text(left - 10, y + laneH / 2 - 2, l.config, `text-anchor="end"`));
    body.push(
      text(
        left - 10,
        y + laneH / 2 + 13,
        `outage ${Number.isFinite(l.gapMs) ? ms(l.gapMs) : "—"}`,
        `text-anchor="end" fill="#666" font-size="11"`,
      ),
    );
    const ticksD = l.replies
      .filter((r) => r >= lo && r <= hi)
      .map((r) => `M${x(r).toFixed(1)} ${y + 8}v${laneH - 16}`)
      .join("");
    body.push(`<path d="${ticksD}" stroke="${color}" stroke-width="1"/>`);
    if (i > 0) body.push(line(left, y, width - right, y, `stroke="#ccc"`));
  });
  body.push(line(x(0), top - 6, x(0), bottom, `stroke="#000" stroke-width="1.5" stroke-dasharray="5,3"`));
  body.push(text(x(0) + 4, top - 8, "link cut", `font-size="11"`));
  return doc(width, height, "Hard failover: the client's ping replies around the cut (median trial)", body);
}

/** Each trial's outage per configuration on a log axis, with the median and p95 marked. */
export function gapsSvg(series: readonly { config: string; values: number[] }[]): string {
  const width = 960;
  const left = 250;
  const right = 30;
  const laneH = 46;
  const top = 48;
  const height = top + series.length * laneH + 60;
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...all, 1000))));
  const hi = Math.max(lo * 10, 10 ** Math.ceil(Math.log10(Math.max(...all, 100))));
  const x = (v: number): number =>
    left +
    ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) *
      (width - left - right);
  const bottom = top + series.length * laneH;
  const body: string[] = [];
  for (let decade = lo; decade <= hi; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const v = decade * m;
      if (v > hi) break;
      body.push(line(x(v), top, x(v), bottom, `stroke="${m === 1 ? "#d5d5d5" : "#eeeeee"}"`));
      body.push(text(x(v), bottom + 16, ms(v), `text-anchor="middle" fill="#444"`));
    }
  }
  body.push(
    text(
      (left + width - right) / 2,
      bottom + 40,
      "client outage per trial (longest gap between ping replies), log scale; | median, ¦ p95",
      `text-anchor="middle"`,
    ),
  );
  series.forEach((s, i) => {
    const y = top + i * laneH;
    const color = COLORS[i % COLORS.length] ?? "#000";
    const sorted = [...s.values].sort((a, b) => a - b);
    const p = (q: number): number =>
      sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
    body.push(text(left - 10, y + laneH / 2 - 2, s.config, `text-anchor="end"`));
    body.push(
      text(
        left - 10,
        y + laneH / 2 + 13,
        `n=${s.values.length}, median ${Number.isFinite(p(0.5)) ? ms(p(0.5)) : "—"}`,
        `text-anchor="end" fill="#666" font-size="11"`,
      ),
    );
    s.values.forEach((v, k) => {
      // Deterministic vertical spread so that equal values stay visible.
      const dy = ((k * 7) % 11) - 5;
      body.push(
        `<circle cx="${x(v).toFixed(1)}" cy="${(y + laneH / 2 + dy * 1.6).toFixed(1)}" r="3" fill="${color}" fill-opacity="0.55"/>`,
      );
    });
    if (Number.isFinite(p(0.5)))
      body.push(line(x(p(0.5)), y + 6, x(p(0.5)), y + laneH - 6, `stroke="#000" stroke-width="2"`));
    if (Number.isFinite(p(0.95)))
      body.push(line(x(p(0.95)), y + 8, x(p(0.95)), y + laneH - 8, `stroke="#000" stroke-dasharray="3,2"`));
    if (i > 0) body.push(line(left, y, width - right, y, `stroke="#ccc"`));
  });
  return doc(width, height, "Hard failover: outage per trial and configuration", body);
}

/** The planner's time against the number of Services. */
export function scaleSvg(points: readonly { services: number; planMs: number }[]): string {
  const width = 720;
  const height = 440;
  const [left, right, top, bottom] = [70, 30, 50, 380];
  const maxX = Math.max(...points.map((p) => p.services), 1);
  const maxY = Math.max(...points.map((p) => p.planMs), 1) * 1.1;
  const xt = ticks(0, maxX, 5);
  const yt = ticks(0, maxY, 6);
  const hiX = Math.max(maxX, xt.at(-1) ?? maxX);
  const hiY = Math.max(maxY, yt.at(-1) ?? maxY);
  const x = (v: number): number => left + (v / hiX) * (width - left - right);
  const y = (v: number): number => bottom - (v / hiY) * (bottom - top);
  const body: string[] = [];
  for (const t of xt) {
    body.push(line(x(t), top, x(t), bottom, `stroke="#eee"`));
    body.push(
      text(x(t), bottom + 16, t >= 1000 ? `${t / 1000}k` : String(t), `text-anchor="middle" fill="#444"`),
    );
  }
  for (const t of yt) {
    body.push(line(left, y(t), width - right, y(t), `stroke="#eee"`));
    body.push(text(left - 6, y(t) + 4, `${t}`, `text-anchor="end" fill="#444"`));
  }
  body.push(line(left, bottom, width - right, bottom, `stroke="#444"`));
  body.push(line(left, top, left, bottom, `stroke="#444"`));
  body.push(
    text((left + width - right) / 2, bottom + 40, "Services in one group (3 nodes)", `text-anchor="middle"`),
  );
  body.push(
    text(
      18,
      (top + bottom) / 2,
      "planCluster, median ms",
      `text-anchor="middle" transform="rotate(-90 18 ${(top + bottom) / 2})"`,
    ),
  );
  const sorted = [...points].sort((a, b) => a.services - b.services);
  body.push(
    `<polyline fill="none" stroke="${COLORS[1] ?? "#000"}" stroke-width="2" points="${sorted.map((p) => `${x(p.services).toFixed(1)},${y(p.planMs).toFixed(1)}`).join(" ")}"/>`,
  );
  for (const p of sorted) {
    body.push(
      `<circle cx="${x(p.services).toFixed(1)}" cy="${y(p.planMs).toFixed(1)}" r="4" fill="${COLORS[1] ?? "#000"}"/>`,
    );
    const label = `${p.planMs.toFixed(p.planMs >= 100 ? 0 : 1)} ms`;
    // Labels near the right edge go to the left of their point.
    const atEnd = x(p.services) > width - right - 60;
    const lx = atEnd ? x(p.services) - 6 : x(p.services) + 6;
    body.push(text(lx, y(p.planMs) - 8, label, `font-size="11"${atEnd ? ` text-anchor="end"` : ""}`));
  }
  return doc(width, height, "Planner time against Services (warm process, median)", body);
}

/** The plot files a report has data for: file name → SVG text. */
export function plots(data: PlotData): Map<string, string> {
  const out = new Map<string, string>();
  if (data.timeline.length > 0) out.set("bench-failover-timeline.svg", timelineSvg(data.timeline));
  if (data.gaps.length > 0) out.set("bench-failover-gaps.svg", gapsSvg(data.gaps));
  if (data.scale.length > 0) out.set("bench-scale.svg", scaleSvg(data.scale));
  return out;
}
