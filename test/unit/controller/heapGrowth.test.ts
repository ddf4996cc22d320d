// V8's heap growth by how busy the controller is: 1.5x a change at a time, 1.3x while a burst publishes many
// Services (controller/heapGrowth.ts); the CLI applies it after each pass.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Action } from "../../../src/controller/decide.js";
import {
  BURST_HEAP_GROWING_PERCENT,
  BURST_STATUS_WRITES,
  heapGrowingPercent,
  serviceStatusWrites,
  STEADY_HEAP_GROWING_PERCENT,
} from "../../../src/controller/heapGrowth.js";

const status = (kind: string, name: string): Action => ({
  kind: "applyStatus",
  manifest: { apiVersion: "v1", kind, metadata: { name, namespace: "demo" }, status: {} },
});

describe("heap growth by how busy the controller is", () => {
  it("counts only the Service status writes of a pass", () => {
    const actions: Action[] = [
      status("Service", "a"),
      status("KeepalivedGroup", "g"),
      { kind: "apply", manifest: { apiVersion: "v1", kind: "Service", metadata: { name: "b" } } },
      status("Service", "c"),
    ];
    assert.equal(serviceStatusWrites(actions), 2);
    assert.equal(serviceStatusWrites([]), 0);
  });

  it("a change at a time keeps the steady growth; a pass publishing many Services tightens it", () => {
    assert.equal(heapGrowingPercent(0), STEADY_HEAP_GROWING_PERCENT);
    assert.equal(heapGrowingPercent(1), STEADY_HEAP_GROWING_PERCENT);
    assert.equal(heapGrowingPercent(BURST_STATUS_WRITES - 1), STEADY_HEAP_GROWING_PERCENT);
    assert.equal(heapGrowingPercent(BURST_STATUS_WRITES), BURST_HEAP_GROWING_PERCENT);
    assert.equal(heapGrowingPercent(10_000), BURST_HEAP_GROWING_PERCENT);
  });
});
