// Plays a hostile case twice: through the `render` CLI as a user runs it (in-process, files in, one node's
// config out, exit code and messages), and through planCluster + renderKeepalivedConf with the world's
// second group beside it. Records what happened; judge.ts decides whether that was right.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import { planCluster } from "../../src/core/plan.js";
import { renderKeepalivedConf } from "../../src/render/keepalivedConf.js";
import { planV1 } from "../../src/render/planCodec.js";
import { vocabularyOf, type Vocabulary } from "./configShape.js";
import { ANNOTATION_PREFIX, caseObjects, type HostileCase, type World } from "./corpus.js";

/** The nodes the CLI renders for: the hostile group's nodes in the world. */
export const CLI_NODES = ["n1", "n2"];
const GROUP_ANNOTATION = `${ANNOTATION_PREFIX}keepalivedgroup`;
const VERBATIM_ANNOTATION = `${ANNOTATION_PREFIX}verbatimconfig`;

export interface Diag {
  /** `Kind namespace/name` (or `Kind name` for cluster-scoped objects). */
  object: string;
  field: string;
  message: string;
  severity: string;
}

export interface CliRun {
  node: string;
  exitCode?: number;
  stdout: string;
  stderr: string;
  crash?: string;
}

export interface RenderedConfig {
  /** Where it came from, for messages: `render --node n1` or `planCluster kao/other n2`. */
  origin: string;
  groupKey: string;
  node: string;
  text: string;
}

export interface Outcome {
  ip: string;
  node?: string;
}

export interface Observation {
  crashes: string[];
  diagnostics: Diag[];
  cli: CliRun[];
  /** CLI configs (exit 0) first, then every group × node of the planner run. */
  configs: RenderedConfig[];
  /** Service key → its announced IPs, from the planner run. */
  announced: Map<string, Outcome[]>;
  /** Service key → group key. */
  serviceGroup: Map<string, string>;
  invalidGroups: string[];
  /** `group node` pairs whose render the renderer refused (RenderError). */
  renderRefused: string[];
  vocabulary: Vocabulary;
  /** `namespace/name` of the case's own Services. */
  caseServices: string[];
}

interface RefLike {
  kind?: string;
  namespace?: string;
  name?: string;
}
interface DiagLike {
  object?: RefLike;
  field?: string;
  message?: string;
  severity?: string;
}

export const refText = (r: RefLike | undefined): string =>
  `${r?.kind ?? "?"} ${r?.namespace === undefined ? "" : `${r.namespace}/`}${r?.name ?? ""}`;

const toDiag = (d: DiagLike): Diag => ({
  object: refText(d.object),
  field: d.field ?? "",
  message: d.message ?? "",
  severity: d.severity ?? "",
});

const errorText = (err: unknown): string =>
  err instanceof Error ? `${err.name}: ${err.message.split("\n")[0] ?? ""}` : `thrown ${JSON.stringify(err)}`;

type Obj = { metadata?: { name?: unknown; namespace?: unknown; annotations?: unknown } };
const metaOf = (o: unknown): Obj["metadata"] =>
  typeof o === "object" && o !== null ? ((o as Obj).metadata ?? undefined) : undefined;
const keyOf = (o: unknown): string => {
  const m = metaOf(o);
  return `${typeof m?.namespace === "string" ? m.namespace : "default"}/${typeof m?.name === "string" ? m.name : ""}`;
};
const annotation = (o: unknown, name: string): unknown => {
  const a = metaOf(o)?.annotations;
  return typeof a === "object" && a !== null ? (a as Record<string, unknown>)[name] : undefined;
};

/** Multi-document YAML of JSON documents, as a user might write them. */
const documents = (objects: unknown[]): string =>
  objects.map((o) => JSON.stringify(o)).join("\n---\n") + "\n";

async function runCli(
  files: { group: string; services: string; nodes: string },
  node: string,
  password?: string,
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  };
  const args = [
    "render",
    "--group",
    files.group,
    "--services",
    files.services,
    "--nodes",
    files.nodes,
    "--node",
    node,
  ];
  if (password !== undefined) args.push(`--password=${password}`);
  try {
    const exitCode = await main(args, io);
    return { node, exitCode, stdout, stderr };
  } catch (err) {
    return { node, stdout, stderr, crash: errorText(err) };
  }
}

export async function playCase(world: World, c: HostileCase): Promise<Observation> {
  const objects = caseObjects(world, c);
  const crashes: string[] = [];
  const diagnostics: Diag[] = [];
  const configs: RenderedConfig[] = [];
  const announced = new Map<string, Outcome[]>();
  const serviceGroup = new Map<string, string>();
  const invalidGroups: string[] = [];
  const renderRefused: string[] = [];

  // 1. The CLI, for each node of the hostile group.
  const dir = mkdtempSync(join(tmpdir(), "kao-hostile-"));
  const cli: CliRun[] = [];
  try {
    const files = {
      group: join(dir, "group.yaml"),
      services: join(dir, "services.yaml"),
      nodes: join(dir, "nodes.yaml"),
    };
    const worldOther = new Set(
      world.objects
        .filter((o) => o.kind === "Service" && annotation(o, GROUP_ANNOTATION) !== "kao/hostile")
        .map(keyOf),
    );
    writeFileSync(files.group, documents([objects.hostileGroup]));
    writeFileSync(
      files.services,
      documents(objects.services.filter((s, i) => i < objects.caseServices || !worldOther.has(keyOf(s)))),
    );
    writeFileSync(files.nodes, documents(objects.nodes));
    for (const node of CLI_NODES) {
      const run = await runCli(files, node, c.password);
      cli.push(run);
      if (run.crash !== undefined) crashes.push(`render --node ${node}: ${run.crash}`);
      else if (run.exitCode === 0)
        configs.push({ origin: `render --node ${node}`, groupKey: "kao/hostile", node, text: run.stdout });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // 2. The planner and the renderer, with the world's other group beside the hostile one.
  const snapshot = JSON.parse(
    JSON.stringify({ groups: objects.groups, services: objects.services, nodes: objects.nodes }),
  ) as Parameters<typeof planCluster>[0];
  try {
    const plan = planCluster(snapshot);
    for (const g of plan.invalidGroups) {
      invalidGroups.push(g.key);
      diagnostics.push(...g.diagnostics.map(toDiag));
    }
    for (const sp of plan.services) {
      diagnostics.push(...sp.diagnostics.map(toDiag));
      announced.set(
        sp.key,
        sp.announced.map((a) => (a.node === undefined ? { ip: a.ip } : { ip: a.ip, node: a.node })),
      );
      serviceGroup.set(sp.key, sp.groupKey);
    }
    for (const gp of plan.groups) {
      diagnostics.push(...gp.diagnostics.map(toDiag));
      for (const n of gp.nodes) {
        const ctx: Parameters<typeof renderKeepalivedConf>[1] = {
          node: n.name,
          interface: gp.group.interface ?? "eth0",
        };
        if (c.password !== undefined) ctx.password = c.password;
        try {
          const text = renderKeepalivedConf(planV1(gp), ctx);
          configs.push({
            origin: `planCluster ${gp.group.key} ${n.name}`,
            groupKey: gp.group.key,
            node: n.name,
            text,
          });
        } catch (err) {
          const field = (err as { field?: unknown }).field;
          if (err instanceof Error && err.name === "RenderError" && typeof field === "string") {
            // The renderer's only refusals are about node facts: the password Secret, or the interface.
            const secret = /Secret (\S+)/.exec(err.message)?.[1];
            const object = secret === undefined ? `KeepalivedGroup ${gp.group.key}` : `Secret ${secret}`;
            diagnostics.push({ object, field, message: err.message, severity: "Error" });
            renderRefused.push(`${gp.group.key} ${n.name}`);
          } else crashes.push(`renderKeepalivedConf ${gp.group.key} ${n.name}: ${errorText(err)}`);
        }
      }
    }
  } catch (err) {
    crashes.push(`planCluster: ${errorText(err)}`);
  }

  const specs = objects.groups.map((g) =>
    typeof g === "object" && g !== null ? (g as { spec?: unknown }).spec : undefined,
  );
  return {
    crashes,
    diagnostics,
    cli,
    configs,
    announced,
    serviceGroup,
    invalidGroups,
    renderRefused,
    vocabulary: vocabularyOf(
      specs,
      objects.services.map((s) => annotation(s, VERBATIM_ANNOTATION)),
    ),
    caseServices: objects.services.slice(0, objects.caseServices).map(keyOf),
  };
}
