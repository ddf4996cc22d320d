// Soak run (not in CI): the whole product for --minutes (default 60) with Service churn in the background and
// one hard failover a minute (the holder of a VIP cut off the bridge), plus one API-server outage of
// --apiserver-down-s (default 60; 0 skips it) at the second minute while the client pings a VIP every 10 ms.
// Reports the controller's and the agents' RSS at the start and the end, minute by minute in between, the
// MaxListenersExceededWarning lines the processes printed, and the IP changes over the recorded history.
// Exit code 1 when a warning was printed, an IP changed, a ping was lost in the outage, or RSS grew by more
// than --rss-tolerance (default 0.25) between the warm-up (a tenth of the run, at least a minute) and the end. Run as root after a build:
//   npm run soak -- --minutes 60
import { parseArgs } from "node:util";
import { failoverTrial, type FailoverTrial } from "../../src/lab/failover.js";
import { startPing, type PingResult } from "../../src/lab/ping.js";
import { sleep } from "../../src/lab/wait.js";
import { rssKiB } from "../../src/lab/probes.js";
import { APPS_NS, Churn } from "../faults/support/cluster.js";
import { ipChanges, type ServiceLike } from "../faults/support/invariants.js";
import { NET_GROUP, publish, startNetCluster, type NetCluster } from "../faults/support/netCluster.js";
import { recordWatch } from "../faults/support/recorder.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "60" },
    "apiserver-down-s": { type: "string", default: "60" },
    "churn-ms": { type: "string", default: "1000" },
    "rss-tolerance": { type: "string", default: "0.25" },
  },
});
const minutes = Number(values.minutes);
const downS = Number(values["apiserver-down-s"]);
const churnMs = Number(values["churn-ms"]);
const tolerance = Number(values["rss-tolerance"]);
for (const [flag, v] of [
  ["--minutes", minutes],
  ["--apiserver-down-s", downS],
  ["--churn-ms", churnMs],
  ["--rss-tolerance", tolerance],
] as const)
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`${flag} must be a number ≥ 0\n`);
    process.exit(2);
  }

const say = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
};

interface RssSample {
  minute: number;
  controller: number;
  agents: number[];
}

async function rss(c: NetCluster, minute: number): Promise<RssSample> {
  const kib = (pid: number | undefined): Promise<number> =>
    pid === undefined ? Promise.resolve(0) : rssKiB(pid).catch(() => 0);
  return {
    minute,
    controller: await kib(c.controller.current?.pid),
    agents: await Promise.all([...c.agents.values()].map((a) => kib(a.current?.pid))),
  };
}

/** The API server stopped for `seconds` while the client pings `vip`; the pings of the whole outage. */
async function apiServerOutage(c: NetCluster, vip: string, seconds: number): Promise<PingResult> {
  const ping = startPing(c.lab, vip, 10);
  await sleep(500);
  await c.cp.stopComponent("kube-apiserver", "SIGKILL");
  try {
    await sleep(seconds * 1000);
  } finally {
    await c.cp.startComponent("kube-apiserver");
  }
  await sleep(500);
  return ping.stop();
}

const warnings = (lines: string[]): number =>
  lines.filter((l) => l.includes("MaxListenersExceededWarning")).length;
const mib = (kib: number): string => (kib / 1024).toFixed(1);

// The controller keeps its lease through the outage (renew deadline above it): one process for the whole run.
const lease: [number, number, number] = [downS + 30, downS + 20, 2];
const c = await startNetCluster({ lease });
let failed = false;
try {
  const services = recordWatch<ServiceLike>(c.admin, `/api/v1/namespaces/${APPS_NS}/services`);
  await services.synced;
  const stable = [await publish(c, "soak-a"), await publish(c, "soak-b"), await publish(c, "soak-c")];
  say(`up: stable VIPs ${stable.map((s) => `${s.ip} on ${s.holder}`).join(", ")}`);
  const start = await rss(c, 0);
  const series: RssSample[] = [start];
  const trials: FailoverTrial[] = [];
  let outage: PingResult | undefined;
  const churn = new Churn(c.admin, NET_GROUP, { prefix: "churn", everyMs: churnMs, live: 30 });
  const t0 = Date.now();
  const end = t0 + minutes * 60_000;
  try {
    for (let minute = 0; Date.now() < end; minute++) {
      const minuteStart = Date.now();
      const vip = stable[minute % stable.length]!.ip;
      const trial = await failoverTrial(c.lab, vip);
      trials.push(trial);
      say(
        `minute ${minute}: failover of ${vip} ${trial.from} → ${trial.to}, gap ${trial.maxGapMs} ms, ${trial.lost} lost`,
      );
      if (minute === 1 && downS > 0) {
        outage = await apiServerOutage(c, stable[0]!.ip, downS);
        say(`minute ${minute}: API server down ${downS} s: ${outage.lost} of ${outage.sent} pings lost`);
      }
      const sample = await rss(c, minute + 1);
      series.push(sample);
      say(
        `minute ${minute}: RSS controller ${mib(sample.controller)} MiB, agents ${sample.agents.map(mib).join("/")} MiB`,
      );
      await sleep(Math.max(0, Math.min(minuteStart + 60_000, end) - Date.now()));
    }
  } finally {
    await churn.stop();
  }
  await sleep(5000);
  const last = await rss(c, series.length);
  services.stop();

  const changes = ipChanges(services.events);
  const controllerLines = c.controller.incarnations.flatMap((p) => p.lines);
  const agentLines = [...c.agents.values()].flatMap((a) => a.incarnations.flatMap((p) => p.lines));
  const grew = (a: number, b: number): boolean => b > a * (1 + tolerance);
  const gaps = trials.map((t) => t.maxGapMs).sort((a, b) => a - b);
  const report = [
    `soak: ${Math.round((Date.now() - t0) / 60_000)} min, churn ${churn.created} created / ${churn.deleted} deleted (${churn.failed} requests failed)`,
    `failovers: ${trials.length}, gap p50 ${gaps[Math.floor(gaps.length / 2)] ?? "-"} ms, max ${gaps.at(-1) ?? "-"} ms, pings lost ${trials.reduce((n, t) => n + t.lost, 0)}`,
    outage === undefined
      ? "API server outage: skipped"
      : `API server down ${downS} s: ${outage.lost} of ${outage.sent} pings lost (gap ${outage.maxGapMs} ms)`,
    `controller RSS: start ${mib(start.controller)} MiB, end ${mib(last.controller)} MiB; restarts ${c.controller.restarts}`,
    `agent RSS: start ${start.agents.map(mib).join("/")} MiB, end ${last.agents.map(mib).join("/")} MiB; restarts ${[...c.agents.values()].map((a) => a.restarts).join("/")}`,
    `RSS by minute (controller): ${series.map((s) => mib(s.controller)).join(" ")} ${mib(last.controller)}`,
    `MaxListenersExceededWarning: controller ${warnings(controllerLines)}, agents ${warnings(agentLines)}`,
    `IP changes: ${changes.length}${
      changes.length === 0
        ? ""
        : ` (${changes
            .slice(0, 5)
            .map((ch) => `${ch.service} ${ch.from.join(",")}→${ch.to.join(",")}`)
            .join("; ")})`
    }`,
  ];
  for (const line of report) say(line);
  // Flat: the end within the tolerance of the RSS after a warm-up (a tenth of the run, at least a minute).
  const warm = series[Math.min(series.length - 1, Math.max(1, Math.ceil(minutes / 10)))] ?? start;
  say(
    `RSS after warm-up (minute ${warm.minute}): controller ${mib(warm.controller)} MiB, agents ${warm.agents.map(mib).join("/")} MiB`,
  );
  const problems = [
    ...(warnings(controllerLines) + warnings(agentLines) > 0 ? ["MaxListenersExceededWarning printed"] : []),
    ...(changes.length > 0 ? ["a published IP changed"] : []),
    ...((outage?.lost ?? 0) > 0 ? ["pings lost while the API server was away"] : []),
    ...(grew(warm.controller, last.controller) ? ["controller RSS grew beyond the tolerance"] : []),
    ...(warm.agents.some((a, i) => grew(a, last.agents[i] ?? 0))
      ? ["agent RSS grew beyond the tolerance"]
      : []),
  ];
  failed = problems.length > 0;
  say(`verdict: ${failed ? `FAIL: ${problems.join("; ")}` : "pass"}`);
} finally {
  await c.stop();
}
process.exit(failed ? 1 : 0);
