// Row 8, controller failover: two controller replicas with the production leader-election settings; the
// leader is SIGKILLed and a new Service applied at once; the time until the other replica has written its
// EXTERNAL-IP. A fresh replica is started after each trial, so that the next one again has a standby.
import { waitFor } from "../../src/lab/wait.js";
import {
  apply,
  benchGroup,
  benchService,
  ensureNamespace,
  externalIP,
  startController,
  type ControllerProcess,
} from "../cluster.js";
import { measure } from "../report.js";
import type { BenchRow } from "../row.js";

const GROUP = "bench-leader";
const NAMESPACE = "bench-leader";
const POOL = "198.18.32.0/24";

export const controllerFailover: BenchRow = {
  id: "controller-failover",
  title: "Controller failover",
  async run(ctx) {
    const cluster = await ctx.cluster();
    const n = ctx.trials(5, 1);
    await ensureNamespace(cluster.admin, NAMESPACE);
    await apply(cluster.admin, benchGroup(GROUP, POOL));
    let started = 0;
    const replica = (): Promise<ControllerProcess> => startController(cluster, `replica-${++started}`);
    let replicas = [await replica(), await replica()];
    const takeover: number[] = [];
    const written: number[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const leader = await waitFor(
          "one replica to lead",
          async () => {
            const leading = await Promise.all(replicas.map((r) => r.leading()));
            return leading.filter(Boolean).length === 1 ? replicas[leading.indexOf(true)] : undefined;
          },
          60_000,
          100,
        );
        const standby = replicas.filter((r) => r !== leader);
        const name = `svc-${i}`;
        const t0 = Date.now();
        await leader.kill("SIGKILL");
        await apply(cluster.admin, benchService(NAMESPACE, name, GROUP));
        const led = waitFor(
          "the standby to lead",
          async () => ((await standby[0]?.leading()) === true ? Date.now() : undefined),
          120_000,
          50,
        );
        await waitFor(
          `${NAMESPACE}/${name}'s EXTERNAL-IP`,
          () => externalIP(cluster.admin, NAMESPACE, name),
          120_000,
          20,
        );
        written.push(Date.now() - t0);
        takeover.push((await led) - t0);
        ctx.progress(
          `trial ${i + 1}/${n}: ${leader.identity} killed; ${standby[0]?.identity ?? "?"} leads after ${takeover.at(-1)} ms, EXTERNAL-IP written after ${written.at(-1)} ms`,
        );
        replicas = [...standby, await replica()];
      }
    } finally {
      await Promise.all(replicas.map((r) => r.kill()));
    }
    const config = "ours (lease 15 s, renew 10 s, retry 2 s)";
    return {
      ran: `${n} trial(s); two controller replicas with the default leader election (--lease-duration 15 --renew-deadline 10 --retry-period 2); the leader SIGKILLed, a new Service applied at once`,
      measures: [
        measure("leader SIGKILLed → the other replica leads", config, "ms", takeover),
        measure("leader SIGKILLed → new Service's EXTERNAL-IP written", config, "ms", written),
      ],
      notes: [
        "A killed leader cannot release its Lease: the standby takes over once the Lease has expired (its duration after the last renewal), so the figure is the lease duration less the time since that renewal, plus one retry period at most. The original operator was not measured here.",
      ],
    };
  },
};
