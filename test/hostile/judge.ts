// Decides whether a played case went right. Every case must show: no crash, a CLI that exits 0 or 2 with a
// message naming object and field, no line in any config that the input was not entitled to, configs that
// keepalived accepts without a word, bystanders announced as before, well-formed diagnostics, and the
// case's own expectation. Returns one line per thing that went wrong.
import { configShapeProblems, renderedVips } from "./configShape.js";
import type { CachedConfigTest } from "./configTest.js";
import type { HostileCase } from "./corpus.js";
import { CLI_NODES, type Diag, type Observation, type Outcome } from "./replay.js";

/** Event notes (events.k8s.io/v1) hold at most 1 kB: a longer message is cut or refused. */
export const MAX_MESSAGE = 1024;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const OBJECT = /\b(KeepalivedGroup|Service|Node|Secret|group) \S/;
const FIELD = /\b(spec|metadata|status)[.[\]:]/;

export interface Baseline {
  /** Service key → announced IPs in the world without a case. */
  announced: Map<string, Outcome[]>;
  bystanders: string[];
}

const ips = (o: Outcome[] | undefined): string =>
  (o ?? [])
    .map((x) => x.ip)
    .sort()
    .join(",");
const first = (s: string, n = 2): string =>
  s
    .split("\n")
    .filter((l) => l !== "")
    .slice(0, n)
    .join(" / ");

function matches(d: Diag, object: string | undefined, field: string | undefined): boolean {
  const objectOk =
    object === undefined || (object.includes(" ") ? d.object === object : d.object.startsWith(`${object} `));
  return objectOk && (field === undefined || d.field.startsWith(field));
}

/** The checks every played input must pass, whatever it is: the fuzz properties use these alone. */
export function universal(
  o: Observation,
  baseline: Baseline,
  excused: boolean,
  tester: CachedConfigTest,
): string[] {
  const out: string[] = [];
  for (const crash of o.crashes) out.push(`crash: ${crash}`);
  for (const r of o.cli) {
    if (r.crash !== undefined) continue;
    if (r.exitCode !== 0 && r.exitCode !== 2)
      out.push(`render --node ${r.node}: exit code ${r.exitCode}: ${first(r.stderr)}`);
    if (r.exitCode === 2 && !(OBJECT.test(r.stderr) && FIELD.test(r.stderr)))
      out.push(`render --node ${r.node}: exit 2 without naming object and field: ${first(r.stderr)}`);
  }
  const seenShape = new Set<string>();
  const tested = new Set<string>();
  for (const conf of o.configs) {
    for (const p of configShapeProblems(conf.text, o.vocabulary)) {
      if (seenShape.has(p)) continue;
      seenShape.add(p);
      out.push(`injected or malformed line (${conf.origin}): ${p}`);
    }
    if (tested.has(conf.text)) continue;
    tested.add(conf.text);
    const said = tester.problems(conf.text) ?? [];
    if (said.length > 0)
      out.push(`keepalived --config-test (${conf.origin}): ${said.slice(0, 3).join(" / ")}`);
  }
  for (const d of o.diagnostics) {
    if (d.field === "" || !/^(KeepalivedGroup|Service|Node|Secret) /.test(d.object))
      out.push(
        `diagnostic that names no object or field: ${d.object} ${JSON.stringify(d.field)}: ${d.message.slice(0, 160)}`,
      );
    if (CONTROL.test(d.message) || CONTROL.test(d.field))
      out.push(
        `diagnostic on ${d.object} holds a control character: ${JSON.stringify(`${d.field}: ${d.message}`.slice(0, 160))}`,
      );
    if (d.message.length > MAX_MESSAGE)
      out.push(
        `diagnostic on ${d.object} ${d.field} is ${d.message.length} characters long (an Event holds ${MAX_MESSAGE})`,
      );
  }
  // Every announced IP is rendered on the node said to hold it.
  for (const [svc, outcomes] of o.announced) {
    const group = o.serviceGroup.get(svc) ?? "";
    for (const a of outcomes) {
      if (a.node === undefined) continue;
      if (o.renderRefused.includes(`${group} ${a.node}`)) continue;
      const conf = o.configs.find(
        (c) => c.origin.startsWith("planCluster") && c.groupKey === group && c.node === a.node,
      );
      if (conf === undefined || !renderedVips(conf.text).includes(a.ip))
        out.push(`Service ${svc}: ${a.ip} announced on ${a.node} but not in that node's config`);
    }
  }
  for (const b of baseline.bystanders) {
    const group = o.serviceGroup.get(b);
    if (group === "kao/hostile" && excused) continue;
    const before = baseline.announced.get(b);
    const now = o.announced.get(b);
    if (ips(now) !== ips(before) || (now ?? []).some((a) => a.node === undefined))
      out.push(`bystander ${b}: announced ${ips(now) || "nothing"} (without the case: ${ips(before)})`);
    if (group !== "kao/hostile") continue;
    for (const a of now ?? []) {
      const run = o.cli.find((r) => r.node === a.node);
      if (run?.exitCode === 0 && !renderedVips(run.stdout).includes(a.ip))
        out.push(`bystander ${b}: ${a.ip} missing from render --node ${a.node}`);
      if (run !== undefined && run.exitCode !== 0)
        out.push(
          `bystander ${b}: render --node ${a.node} exits ${run.exitCode ?? "by crashing"}, so ${a.ip} is not rendered`,
        );
    }
  }
  return out;
}

/** What a message must contain to name the object: `ns/name` (a message may say "group kao/x"), else the kind. */
const objectName = (object: string | undefined): string => object?.split(" ")[1] ?? object ?? "";

/** Objects whose refusal may stop the whole group: the group itself, and its password Secret. */
const wholeGroupObject = (object: string | undefined): boolean =>
  object?.startsWith("KeepalivedGroup") === true || object?.startsWith("Secret") === true;

function expectation(c: HostileCase, o: Observation): string[] {
  const out: string[] = [];
  const mine = o.diagnostics.filter((d) => matches(d, c.object, c.field));
  const groupObject = wholeGroupObject(c.object);
  const exits = o.cli.map((r) => `${r.node}: ${r.crash ?? r.exitCode}`).join(", ");
  if (c.expect === "refused") {
    if (mine.length === 0) {
      const near = o.diagnostics.filter((d) => matches(d, c.object, undefined)).map((d) => d.field);
      out.push(
        `refused: no diagnostic on ${c.object ?? ""} naming ${c.field ?? ""} (its diagnostics: ${[...new Set(near)].join(", ") || "none"}; render exits ${exits})`,
      );
    }
    // The CLI says so: a refused group with exit 2, or a warning beside the config of everything else.
    for (const r of c.otherGroup === true ? [] : o.cli) {
      if (r.crash !== undefined) continue;
      if (!groupObject && r.exitCode !== 0)
        out.push(
          `refused: render --node ${r.node} exits ${r.exitCode}, so the other Services are not rendered: ${first(r.stderr)}`,
        );
      else if (!(r.stderr.includes(objectName(c.object)) && r.stderr.includes(c.field ?? "")))
        out.push(
          `refused: render --node ${r.node} does not name ${c.object ?? ""} ${c.field ?? ""}: ${first(r.stderr) || "(silent)"}`,
        );
    }
  } else {
    for (const r of o.cli)
      if (r.crash === undefined && r.exitCode !== 0)
        out.push(`accepted: render --node ${r.node} exits ${r.exitCode}: ${first(r.stderr)}`);
    for (const d of o.diagnostics) {
      const onCase =
        (d.object === "KeepalivedGroup kao/hostile" && d.severity === "Error") ||
        o.caseServices.some((s) => d.object === `Service ${s}`);
      if (onCase && !(c.object !== undefined && matches(d, c.object, c.field)))
        out.push(`accepted: unexpected diagnostic ${d.object} ${d.field}: ${d.message.slice(0, 200)}`);
    }
  }
  const cliConfigs = o.configs.filter((x) => x.origin.startsWith("render"));
  for (const ip of c.forbiddenVips) {
    const where = o.configs.filter((x) => renderedVips(x.text).includes(ip)).map((x) => x.origin);
    const by = [...o.announced].filter(([, a]) => a.some((x) => x.ip === ip)).map(([k]) => k);
    if (where.length > 0 || by.length > 0)
      out.push(
        `forbidden VIP ${ip} announced (for ${by.join(", ") || "?"}) and rendered in ${where.join(", ") || "no config"}`,
      );
  }
  for (const ip of c.vips) {
    if (!cliConfigs.some((x) => renderedVips(x.text).includes(ip)))
      out.push(`VIP ${ip} is not rendered by render`);
  }
  for (const line of c.lines) {
    if (!o.configs.some((x) => x.text.split("\n").some((l) => l.trim() === line)))
      out.push(`no config has the line ${JSON.stringify(line)}`);
  }
  if (c.maxDiagnostics !== undefined) {
    const on = o.diagnostics.filter((d) => matches(d, c.object, undefined)).length;
    if (on > c.maxDiagnostics)
      out.push(`${on} diagnostics on ${c.object ?? "the case"} (at most ${c.maxDiagnostics})`);
    for (const r of o.cli) {
      const lines = r.stderr.split("\n").filter((l) => l.includes(c.object ?? "")).length;
      if (lines > c.maxDiagnostics)
        out.push(`render --node ${r.node} prints ${lines} lines about ${c.object ?? "the case"}`);
    }
  }
  return out;
}

export function judge(
  c: HostileCase,
  o: Observation,
  baseline: Baseline,
  tester: CachedConfigTest,
): string[] {
  // A group refused as a whole announces nothing, so its own bystander is excused.
  const wholeGroupRefused =
    c.expect === "refused" && wholeGroupObject(c.object) && o.cli.every((r) => r.exitCode === 2);
  const excused = c.excuseBystander === true || wholeGroupRefused;
  return [...universal(o, baseline, excused, tester), ...expectation(c, o)];
}

export { CLI_NODES };
