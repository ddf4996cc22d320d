// Reading the previous placement back from node plan objects, cheaply: the controller's own writes are known
// by their content hash and never parsed; objects written before a restart are parsed once per version.
import type { ConfigMapObject } from "../api/kube.js";
import { APPLIED_HASH_ANNOTATION } from "../api/names.js";
import { placementOfConfigMap } from "./decide.js";

/**
 * A plan object's placement: the one the controller computed for that content hash when it decided (its own
 * writes are never parsed back), else parsed once per resourceVersion (objects written before a restart).
 */
export function memoizedPlacement(): {
  read: (cm: ConfigMapObject) => Record<string, string> | undefined;
  decided: (byHash: Map<string, Record<string, string>>) => void;
} {
  const cache = new Map<string, { rv: string; placement: Record<string, string> | undefined }>();
  let byHash = new Map<string, Record<string, string>>();
  return {
    read: (cm) => {
      const known = byHash.get(cm.metadata.annotations?.[APPLIED_HASH_ANNOTATION] ?? "");
      if (known !== undefined) return known;
      const key = `${cm.metadata.namespace ?? ""}/${cm.metadata.name ?? ""}`;
      const rv = cm.metadata.resourceVersion ?? "";
      const cached = cache.get(key);
      if (cached?.rv === rv) return cached.placement;
      const placement = placementOfConfigMap(cm);
      cache.set(key, { rv, placement });
      return placement;
    },
    decided: (next) => {
      byHash = next;
    },
  };
}
