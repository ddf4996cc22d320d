// The nodes of a group: those its nodeSelector picks, with the addresses their VRRP adverts use. Pure.
import type { NodeMember } from "./clusterPlan.js";
import { errorOn, groupObject, warningOn, type Diagnostic } from "./diagnostics.js";
import { selectsNode, type GroupModel } from "./group.js";
import { parseIP, type Family } from "./ip.js";
import type { NodeObject } from "./objects.js";
import type { ReadNode } from "./planInputs.js";
import { dnsSubdomainProblem, quote } from "./validate.js";

/** The nodes the group's nodeSelector picks (sorted by name), with the addresses adverts use. */
export function groupNodes(
  model: GroupModel,
  nodes: readonly ReadNode[],
  diagnostics: Diagnostic[],
): NodeMember[] {
  const members: NodeMember[] = [];
  const seen = new Set<string>();
  for (const { node, problems } of nodes) {
    const name = node.metadata.name ?? "";
    if (!selectsNode(model.nodeSelector, node.metadata.labels)) continue;
    diagnostics.push(...problems);
    if (dnsSubdomainProblem(name) !== undefined) {
      diagnostics.push(
        warningOn(
          { kind: "Node", name },
          "metadata.name",
          "InvalidNodeName",
          `${quote(name)} is not a valid node name; the node is left out of group ${model.key}.`,
        ),
      );
      continue;
    }
    if (seen.has(name)) continue;
    seen.add(name);
    members.push({ name, addresses: nodeAddresses(node) });
  }
  if (members.length === 0) {
    diagnostics.push(
      errorOn(
        groupObject(model),
        "spec.nodeSelector",
        "NoNodes",
        `no node matches ${quote(JSON.stringify(model.nodeSelector))}; label the nodes that should hold VIPs (e.g. oc label node <node> node-role.kubernetes.io/loadbalancer="").`,
      ),
    );
  }
  return members;
}

/** The node's InternalIP, else ExternalIP, per family. */
function nodeAddresses(node: NodeObject): Partial<Record<Family, string>> {
  const out: Partial<Record<Family, string>> = {};
  for (const type of ["InternalIP", "ExternalIP"]) {
    for (const a of node.status?.addresses ?? []) {
      if (a.type !== type) continue;
      const ip = parseIP(a.address);
      if (ip !== undefined && out[ip.family] === undefined) out[ip.family] = ip.text;
    }
  }
  return out;
}
