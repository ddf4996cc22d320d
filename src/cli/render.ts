// `keepalived-operator render`: files in, one node's keepalived.conf out. Reads files and the local
// routing table (for interfaceFromIP); everything else is the pure planner and renderer.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KeepalivedGroup } from "../api/types.js";
import { formatDiagnostic } from "../core/diagnostics.js";
import type { NodeObject, ServiceObject } from "../core/objects.js";
import { planCluster } from "../core/plan.js";
import { renderKeepalivedConf, RenderError } from "../render/keepalivedConf.js";
import { planV1 } from "../render/planCodec.js";
import { CliError, parseFlags, type Io } from "./io.js";

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
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      throw new CliError(`${path}: not valid YAML or JSON: ${e?.message.split("\n")[0] ?? "parse error"}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value))
      throw new CliError(
        `${path}: every document must be a Kubernetes object (a map), not ${Array.isArray(value) ? "a list" : typeof value}`,
      );
    const obj = value as K8sObject;
    if (typeof obj.kind === "string" && obj.kind.endsWith("List") && Array.isArray(obj.items)) {
      for (const item of obj.items as unknown[])
        if (item !== null && typeof item === "object") out.push(item as K8sObject);
    } else out.push(obj);
  }
  return out;
}

function routeInterface(ip: string): string {
  try {
    const out = execFileSync("ip", ["-j", "route", "get", ip], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const routes = JSON.parse(out) as { dev?: string }[];
    const dev = routes[0]?.dev;
    if (dev !== undefined) return dev;
  } catch {
    // fall through to the error below
  }
  throw new CliError(`spec.interfaceFromIP: no route to ${ip} on this host; pass --interface <nic>`);
}

export function runRender(args: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(args, {
    group: "string",
    services: "string",
    nodes: "string",
    node: "string",
    interface: "string",
    password: "string",
    help: "boolean",
  });
  if (flags.help === true) {
    io.stdout.write(`${HELP}\n`);
    return Promise.resolve(0);
  }
  if (typeof flags.group !== "string") throw new CliError(`--group <file> is required\n${HELP}`);
  if (typeof flags.services !== "string") throw new CliError(`--services <file> is required\n${HELP}`);
  const groupObjects = readObjects(flags.group).filter((o) => o.kind === "KeepalivedGroup");
  if (groupObjects.length !== 1) {
    throw new CliError(`${flags.group}: expected exactly one KeepalivedGroup, found ${groupObjects.length}`);
  }
  const group = groupObjects[0] as unknown as KeepalivedGroup;
  group.metadata.namespace ??= "default";
  const services = readObjects(flags.services)
    .filter((o) => o.kind === "Service" || o.kind === undefined)
    .map((o) => {
      const s = o as unknown as ServiceObject;
      s.metadata.namespace ??= "default";
      return s;
    });
  const nodeName = typeof flags.node === "string" ? flags.node : (io.env.HOSTNAME ?? "localhost");
  let nodes: NodeObject[];
  if (typeof flags.nodes === "string") {
    nodes = readObjects(flags.nodes).filter((o) => o.kind === "Node") as unknown as NodeObject[];
  } else {
    // No node list: the named node is the only one, and it carries the group's labels.
    nodes = [{ metadata: { name: nodeName, labels: group.spec?.nodeSelector ?? {} } }];
  }

  const plan = planCluster({ groups: [group], services, nodes });
  const invalid = plan.invalidGroups[0];
  if (invalid !== undefined) {
    throw new CliError(
      `the KeepalivedGroup is invalid:\n${invalid.diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join("\n")}`,
    );
  }
  const groupPlan = plan.groups[0];
  if (groupPlan === undefined) throw new CliError("no KeepalivedGroup to render");
  if (!groupPlan.nodes.some((n) => n.name === nodeName)) {
    throw new CliError(
      `node ${nodeName} is not in group ${groupPlan.group.key} (its labels do not match spec.nodeSelector ${JSON.stringify(groupPlan.group.nodeSelector)}); pass --node with one of: ${groupPlan.nodes.map((n) => n.name).join(", ") || "(none)"}`,
    );
  }
  for (const d of [...groupPlan.diagnostics, ...plan.services.flatMap((s) => s.diagnostics)]) {
    io.stderr.write(`warning: ${formatDiagnostic(d)}\n`);
  }
  const iface =
    typeof flags.interface === "string"
      ? flags.interface
      : (groupPlan.group.interface ?? routeInterface(groupPlan.group.interfaceFromIP?.text ?? ""));
  try {
    const ctx: Parameters<typeof renderKeepalivedConf>[1] = { node: nodeName, interface: iface };
    if (typeof flags.password === "string") ctx.password = flags.password;
    io.stdout.write(renderKeepalivedConf(planV1(groupPlan), ctx));
  } catch (err) {
    if (err instanceof RenderError)
      throw new CliError(
        err.message + (err.field === "spec.passwordAuth" ? " (pass it with --password)" : ""),
      );
    throw err;
  }
  return Promise.resolve(0);
}
