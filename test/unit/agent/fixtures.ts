// A small PlanV1 for the agent's unit tests: group kao/lab, nodes n1 and n2, the given instances.
import { PLAN_API_VERSION, type PlanInstanceV1, type PlanV1 } from "../../../src/api/plan.js";

export function labelledPlan(instances: PlanInstanceV1[]): PlanV1 {
  return {
    apiVersion: PLAN_API_VERSION,
    group: {
      key: "kao/lab",
      name: "lab",
      namespace: "kao",
      unicast: false,
      verbatimGlobal: [],
      vrrp: {
        advertIntervalMs: 1000,
        garpMasterDelaySeconds: 1,
        garpMasterRefreshSeconds: 0,
        garpMasterRepeat: 3,
        preempt: true,
        preemptDelaySeconds: 0,
        version: 3,
      },
    },
    instances,
    nodes: [
      { name: "n1", addresses: { 4: "198.18.0.11" } },
      { name: "n2", addresses: { 4: "198.18.0.12" } },
    ],
    placement: {},
  };
}
