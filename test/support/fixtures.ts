// Loads a multi-document fixture into a cluster snapshot.
import { join } from "node:path";
import { readObjects } from "../../src/cli/render.js";
import type { ClusterSnapshot, KeepalivedGroup, NodeObject, ServiceObject } from "../../src/core/objects.js";

export const REPO = process.cwd();

export function loadSnapshot(relPath: string): ClusterSnapshot {
  const objects = readObjects(join(REPO, relPath));
  return {
    groups: objects.filter((o) => o.kind === "KeepalivedGroup") as unknown as KeepalivedGroup[],
    services: objects.filter((o) => o.kind === "Service") as unknown as ServiceObject[],
    nodes: objects.filter((o) => o.kind === "Node") as unknown as NodeObject[],
  };
}
