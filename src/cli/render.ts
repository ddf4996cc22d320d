// `keepalived-operator render`: files in, one node's keepalived.conf out. Reads files and the local
// routing table (for interfaceFromIP); everything else is the pure planner and renderer.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { routeInterface } from "../agent/addresses.js";
import type { KeepalivedGroup } from "../api/types.js";
import { formatDiagnostic } from "../core/diagnostics.js";
import { describeValue } from "../core/shape.js";
import type { ClusterSnapshot, NodeObject, ServiceObject } from "../core/objects.js";
import { planCluster, type GroupPlan } from "../core/plan.js";
import { renderKeepalivedConf, RenderError } from "../render/keepalivedConf.js";
import { planV1 } from "../render/planCodec.js";
import { CliError, parseFlags, stringFlags, type Io } from "./io.js";

const HELP = `usage: keepalived-operator render --group <file> --services <file> [--nodes <file>] [--node <name>]
                                  [--interface <nic>] [--password <text>]

Prints the keepalived.conf that <name>'s agent would run. Files are YAML or JSON, with one or more
documents or a List. Without --nodes, the nodes are those named by --node (default: this host's name).`;

type K8sObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
} & Record<string, unknown>;

/** Reads every object of a YAML/JSON file, flattening `List` kinds. */
export function readObjects(path: string): K8sObject[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const out: K8sObject[] = [];
  parseAllDocuments(text).forEach((doc, d) => {
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      throw new CliError(`${path}: not valid YAML or JSON: ${e?.message.split("\n")[0] ?? "parse error"}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const obj = asObject(value, `${path}: document ${d + 1}`);
    if (typeof obj.kind === "string" && obj.kind.endsWith("List") && Array.isArray(obj.items)) {
      (obj.items as unknown[]).forEach((item, i) => {
        out.push(asObject(item, `${path}: document ${d + 1}, items[${i}]`));
      });
    } else out.push(obj);
  });
  return out;
}

/**
 * A Kubernetes object: a map, or a CliError naming `where`. Its fields, metadata included, are the planner's
 * to check: it names the object and the field of a wrong one, and leaves the other objects untouched.
 */
function asObject(value: unknown, where: string): K8sObject {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new CliError(`${where} must be a Kubernetes object (a map), not ${describeValue(value)}`);
  return value as K8sObject;
}

/**
 * metadata.namespace defaults to "default", as kubectl does. Metadata that is not a map, and a namespace that
 * is given but wrong (null included), are left for the planner to name.
 */
function withDefaultNamespace<T extends K8sObject>(obj: T): T {
  const meta: unknown = obj.metadata;
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return obj;
  const m = meta as Record<string, unknown>;
  return m.namespace === undefined ? { ...obj, metadata: { ...m, namespace: "default" } } : obj;
}

/** The interface this host routes `ip` through (spec.interfaceFromIP), or a CliError asking for --interface. */
export async function interfaceFromIP(
  ip: string,
  lookup: (ip: string) => Promise<string | undefined> = routeInterface,
): Promise<string> {
  const dev = await lookup(ip);
  if (dev === undefined)
    throw new CliError(`spec.interfaceFromIP: no route to ${ip} on this host; pass --interface <nic>`);
  if (dev === "lo")
    throw new CliError(
      `spec.interfaceFromIP: the route to ${ip} on this host is the loopback interface lo (${ip} is an address of this host), which cannot carry VIPs; set spec.interfaceFromIP to an address beyond this host on the VIPs' network, or pass --interface <nic>`,
    );
  return dev;
}

export interface RenderSettings {
  groupFile: string;
  servicesFile: string;
  /** Without it, the node named by --node is the only one. */
  nodesFile: string | undefined;
  node: string;
  /** Without it: the group's spec.interface, else the route to spec.interfaceFromIP on this host. */
  interface: string | undefined;
  password: string | undefined;
}

/** Flags and environment → settings, or a CliError naming the missing flag. Pure. */
export function parseRenderArgs(
  args: string[],
  env: Record<string, string | undefined>,
): RenderSettings | "help" {
  const { flags, text } = parseFlags(args, {
    ...stringFlags("group", "services", "nodes", "node", "interface", "password"),
    help: "boolean",
  });
  if (flags.help === true) return "help";
  const groupFile = text("group");
  if (groupFile === undefined) throw new CliError(`--group <file> is required\n${HELP}`);
  const servicesFile = text("services");
  if (servicesFile === undefined) throw new CliError(`--services <file> is required\n${HELP}`);
  return {
    groupFile,
    servicesFile,
    nodesFile: text("nodes"),
    node: text("node") ?? env.HOSTNAME ?? "localhost",
    interface: text("interface"),
    password: text("password"),
  };
}

/** The group, its Services and the nodes, from the files the settings name. */
function readSnapshot(s: RenderSettings): ClusterSnapshot {
  const groupObjects = readObjects(s.groupFile).filter((o) => o.kind === "KeepalivedGroup");
  if (groupObjects.length !== 1) {
    throw new CliError(`${s.groupFile}: expected exactly one KeepalivedGroup, found ${groupObjects.length}`);
  }
  const group = withDefaultNamespace(groupObjects[0] ?? {}) as unknown as KeepalivedGroup;
  const services = readObjects(s.servicesFile)
    .filter((o) => o.kind === "Service" || o.kind === undefined)
    .map((o) => withDefaultNamespace(o) as unknown as ServiceObject);
  const nodes =
    s.nodesFile === undefined
      ? // No node list: the named node is the only one, and it carries the group's labels.
        [{ metadata: { name: s.node, labels: group.spec?.nodeSelector ?? {} } }]
      : (readObjects(s.nodesFile).filter((o) => o.kind === "Node") as unknown as NodeObject[]);
  return { groups: [group], services, nodes };
}

/** The group's plan, which must hold `node`, and the warnings about the group and its Services. Pure. */
export function planForNode(
  snapshot: ClusterSnapshot,
  node: string,
): { plan: GroupPlan; warnings: string[] } {
  const cluster = planCluster(snapshot);
  const invalid = cluster.invalidGroups[0];
  if (invalid !== undefined) {
    throw new CliError(
      `the KeepalivedGroup is invalid:\n${invalid.diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join("\n")}`,
    );
  }
  const plan = cluster.groups[0];
  if (plan === undefined) throw new CliError("no KeepalivedGroup to render");
  if (!plan.nodes.some((n) => n.name === node)) {
    throw new CliError(
      `node ${node} is not in group ${plan.group.key} (its labels do not match spec.nodeSelector ${JSON.stringify(plan.group.nodeSelector)}); pass --node with one of: ${plan.nodes.map((n) => n.name).join(", ") || "(none)"}`,
    );
  }
  const diagnostics = [...plan.diagnostics, ...cluster.services.flatMap((svc) => svc.diagnostics)];
  return { plan, warnings: diagnostics.map(formatDiagnostic) };
}

export async function runRender(args: string[], io: Io): Promise<number> {
  const s = parseRenderArgs(args, io.env);
  if (s === "help") {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  try {
    return await render(s, io);
  } catch (err) {
    if (err instanceof CliError) throw err;
    // Every input is checked before use; if something still slips through, say which files, never a stack.
    const files = [s.groupFile, s.servicesFile, ...(s.nodesFile === undefined ? [] : [s.nodesFile])].join(
      ", ",
    );
    throw new CliError(
      `could not render from ${files}: ${err instanceof Error ? err.message : String(err)} (a bug of keepalived-operator; please report it with these files)`,
    );
  }
}

async function render(s: RenderSettings, io: Io): Promise<number> {
  const { plan, warnings } = planForNode(readSnapshot(s), s.node);
  for (const w of warnings) io.stderr.write(`warning: ${w}\n`);
  const iface =
    s.interface ?? plan.group.interface ?? (await interfaceFromIP(plan.group.interfaceFromIP?.text ?? ""));
  try {
    const ctx: Parameters<typeof renderKeepalivedConf>[1] = { node: s.node, interface: iface };
    if (s.password !== undefined) ctx.password = s.password;
    io.stdout.write(renderKeepalivedConf(planV1(plan), ctx));
  } catch (err) {
    if (err instanceof RenderError)
      throw new CliError(
        err.message + (err.field === "spec.passwordAuth" ? " (pass it with --password)" : ""),
      );
    throw err;
  }
  return 0;
}
