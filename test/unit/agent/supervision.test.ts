// The agent's supervision of keepalived without a network: which output lines are logged, how a keepalived
// left by a dead agent is recognised (and a recycled pid is not), adoption and stop of such a process (a
// stand-in whose argv[0] is "keepalived"), and the VRRP states seeded from a dump.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { netnsPathOf, netnsPrefix, NO_PREFIX } from "../../../src/agent/command.js";
import { keepalivedPaths, KeepalivedSupervisor } from "../../../src/agent/keepalived.js";
import {
  DEFAULT_REPEAT_LIMITS,
  isNewsworthy,
  lineKind,
  RepeatFilter,
  type KeepalivedLogLine,
} from "../../../src/agent/keepalivedLog.js";
import { isKeepalivedOf, leftKeepalived, parsePidFile } from "../../../src/agent/orphan.js";
import { VrrpObservations } from "../../../src/agent/vrrpObservations.js";
import { jsonLogger } from "../../../src/lib/log.js";

test("isNewsworthy: the echo of each statistics request is not logged; everything else is", () => {
  for (const [line, logged] of [
    ["Thu Nov 26 23:31:23 2026: Printing VRRP as json for process(30437) on signal", false],
    ["Printing VRRP data for process(7) on signal", false],
    ["Printing VRRP stats for process(7) on signal", false],
    ["Thu Nov 26 23:31:23 2026: (web) Entering MASTER STATE", true],
    ["(web) Entering BACKUP STATE (init)", true],
    ["Reloading ...", true],
    ["(x: Line 3) Unknown keyword 'Printing'", true],
    ["   ", false],
  ] as const)
    assert.equal(isNewsworthy(line), logged, line);
});

test("a day of polls: a few hundred log lines, every transition among them, every left-out line counted", (t) => {
  let now = Date.parse("2026-11-27T00:00:00Z");
  const filter = new RepeatFilter(() => now);
  const logged: KeepalivedLogLine[] = [];
  const seen = new Map<string, number>();
  const stamp = (line: string): string => `Fri Nov 27 01:02:03 2026: ${line}`;
  const feed = (line: string): void => {
    if (isNewsworthy(line) && !/STATE/.test(line))
      seen.set(lineKind(line), (seen.get(lineKind(line)) ?? 0) + 1);
    logged.push(...filter.accept(stamp(line)));
  };
  const vips = Array.from({ length: 10 }, (_, i) => `198.18.0.${200 + i}`);
  let transitions = 0;
  const day = 24 * 3600 * 1000;
  // Four polls a second, as the agent's sampler at a 250 ms advert interval.
  for (let t = 0; t < day; t += 250) {
    now += 250;
    feed(`Printing VRRP as json for process(${7000 + (t % 3)}) on signal`);
    // garp_master_refresh 60: every VIP's gratuitous ARP again, every minute.
    if (t % 60_000 === 0) for (const vip of vips) feed(`Sending gratuitous ARP on eth0 for ${vip}`);
    // An error that keepalived repeats at each poll for ten minutes in the fourth hour.
    if (t >= 3 * 3600_000 && t < 3 * 3600_000 + 600_000) feed("Unable to open /run/kao/keepalived.json");
    if (t % (3 * 3600_000) === 0) {
      transitions++;
      feed(`(web) Entering ${transitions % 2 === 0 ? "BACKUP" : "MASTER"} STATE`);
    }
    if (t % 1000 === 0) logged.push(...filter.flush());
  }
  now += DEFAULT_REPEAT_LIMITS.windowMs;
  logged.push(...filter.flush());
  t.diagnostic(
    `${logged.length} lines logged for ${[...seen.values()].reduce((a, b) => a + b, 0)} newsworthy lines and ${transitions} transitions`,
  );
  assert.ok(logged.length <= 300, `${logged.length} lines logged in a day`);
  assert.equal(logged.filter((l) => /Entering \w+ STATE/.test(l.line)).length, transitions);
  assert.ok(logged.some((l) => l.line.includes("Unable to open")));
  assert.equal(logged.filter((l) => l.line.includes("Printing VRRP")).length, 0);
  // Counted, not sampled: each kind's logged lines and summed-up copies add up to what keepalived printed.
  for (const [kind, count] of seen) {
    const mine = logged.filter((l) => lineKind(l.line) === kind && !/STATE/.test(l.line));
    assert.equal(
      mine.reduce((n, l) => n + (l.repeated ?? 1), 0),
      count,
      kind,
    );
  }
});

test("RepeatFilter: the lines right after a transition are all logged, even of a muted kind", () => {
  let now = 0;
  const filter = new RepeatFilter(() => now, { ...DEFAULT_REPEAT_LIMITS, limit: 1 });
  const na = "Sending unsolicited Neighbour Advert on eth0 for 2001:db8::201";
  assert.equal(filter.accept(na).length, 1);
  assert.equal(filter.accept(na).length, 0, "muted after one");
  now += 1000;
  assert.equal(filter.accept("(web) Entering MASTER STATE").length, 1);
  now += 50;
  assert.deepEqual(filter.accept(na), [{ line: na }]);
  now += DEFAULT_REPEAT_LIMITS.afterTransitionMs;
  assert.equal(filter.accept(na).length, 0, "muted again once the takeover is over");
});

test("RepeatFilter: a takeover of thousands of VIPs logs the first lines of each kind and a count, not a line per VIP", () => {
  let now = 0;
  const filter = new RepeatFilter(() => now);
  const limit = DEFAULT_REPEAT_LIMITS.afterTransitionLimit;
  const garp = (i: number): string => `Sending gratuitous ARP on eth0 for 198.18.${i >> 8}.${i & 255}`;
  const na = (i: number): string =>
    `Sending unsolicited Neighbour Advert on eth0 for 2001:db8::${i.toString(16)}`;
  const logged: KeepalivedLogLine[] = [...filter.accept("(VI_1) Entering MASTER STATE")];
  for (let i = 0; i < 3000; i++) {
    now += 1;
    logged.push(...filter.accept(garp(i)), ...filter.accept(na(i)));
  }
  // A second instance's transition within the time does not start a new allowance.
  logged.push(...filter.accept("(VI_2) Entering MASTER STATE"), ...filter.accept(garp(3000)));
  assert.equal(logged.length, 2 + 2 * limit, "both transitions and the first lines of each kind");
  assert.deepEqual(filter.flush(), [], "nothing is summed up while the time after a transition lasts");
  now += DEFAULT_REPEAT_LIMITS.afterTransitionMs;
  assert.deepEqual(
    filter.flush().sort((a, b) => a.line.localeCompare(b.line)),
    [
      { line: garp(3000), repeated: 3001 - limit },
      { line: na(2999), repeated: 3000 - limit },
    ],
    "then each kind is summed up once, with the last line left out",
  );
  assert.deepEqual(filter.flush(), [], "and only once");
  // The next takeover has its own allowance.
  now += 1;
  filter.accept("(VI_1) Entering BACKUP STATE");
  assert.deepEqual(filter.accept(garp(1)), [{ line: garp(1) }]);
});

test("RepeatFilter: what a takeover left out is summed up before the next line of any kind", () => {
  let now = 0;
  const filter = new RepeatFilter(() => now, { ...DEFAULT_REPEAT_LIMITS, afterTransitionLimit: 1 });
  filter.accept("(VI_1) Entering MASTER STATE");
  filter.accept("Sending gratuitous ARP on eth0 for 198.18.0.1");
  filter.accept("Sending gratuitous ARP on eth0 for 198.18.0.2");
  now += DEFAULT_REPEAT_LIMITS.afterTransitionMs;
  assert.deepEqual(filter.accept("Netlink reports eth0 down"), [
    { line: "Sending gratuitous ARP on eth0 for 198.18.0.2", repeated: 1 },
    { line: "Netlink reports eth0 down" },
  ]);
});

test("RepeatFilter: a line quiet for a whole window is news again", () => {
  let now = 0;
  const filter = new RepeatFilter(() => now, {
    limit: 2,
    windowMs: 1000,
    kinds: 10,
    afterTransitionMs: 0,
    afterTransitionLimit: 0,
  });
  const lines = (line: string): string[] =>
    filter.accept(line).map((l) => (l.repeated === undefined ? l.line : `${l.line} ×${l.repeated}`));
  assert.deepEqual(lines("VRRP_Script(x) failed 1"), ["VRRP_Script(x) failed 1"]);
  assert.deepEqual(lines("VRRP_Script(x) failed 2"), ["VRRP_Script(x) failed 2"]);
  assert.deepEqual(lines("VRRP_Script(x) failed 3"), []);
  now = 500;
  assert.deepEqual(lines("VRRP_Script(x) failed 4"), []);
  now = 1600;
  assert.deepEqual(lines("VRRP_Script(x) failed 5"), [
    "VRRP_Script(x) failed 4 ×2",
    "VRRP_Script(x) failed 5",
  ]);
  assert.deepEqual(lines("(web) Entering MASTER STATE"), ["(web) Entering MASTER STATE"]);
  assert.deepEqual(lines("(web) Entering MASTER STATE"), ["(web) Entering MASTER STATE"]);
});

test("isKeepalivedOf: a live keepalived on our config file, not a zombie, not another program", () => {
  const conf = "/run/kao/keepalived.conf";
  const argv = (...a: string[]): string => `${a.join("\0")}\0`;
  const stat = (state: string): string => `42 (keepalived) ${state} 1 42 42 0 -1`;
  const ours = argv("keepalived", "--dont-fork", `--use-file=${conf}`);
  for (const [cmdline, st, expected] of [
    [ours, stat("S"), true],
    [argv("/usr/sbin/keepalived", `--use-file=${conf}`), stat("R"), true],
    [ours, stat("Z"), false],
    [argv("keepalived", "--use-file=/other/keepalived.conf"), stat("S"), false],
    [argv("node", "agent", `--use-file=${conf}`), stat("S"), false],
    [argv("keepalived", `--use-file=${conf}.candidate`), stat("S"), false],
    ["", stat("S"), false],
    // A command name with ") " in it does not fool the state field.
    [ours, "42 (a) Z (b) S 1", true],
  ] as const)
    assert.equal(isKeepalivedOf(cmdline, st, "keepalived", conf), expected, `${cmdline} ${st}`);
});

test("parsePidFile and netnsPathOf", () => {
  assert.equal(parsePidFile("1234\n"), 1234);
  for (const bad of ["", "0", "1", "-5", "12x", "1.5"]) assert.equal(parsePidFile(bad), undefined, bad);
  assert.equal(netnsPathOf(NO_PREFIX), "/proc/self/ns/net");
  assert.equal(netnsPathOf(netnsPrefix("kao1-n1")), "/run/netns/kao1-n1");
});

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A process that /proc shows as `keepalived --use-file=<config>`: a stand-in for one a dead agent left. */
function standIn(config: string, argv0 = "keepalived"): ChildProcess {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", "--", `--use-file=${config}`], {
    argv0,
    stdio: "ignore",
  });
  children.push(child);
  return child;
}

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kao-supervision-"));
  dirs.push(dir);
  return dir;
}

test("a keepalived left by a dead agent is adopted, never joined by a second, and stopped on stop", async () => {
  const paths = keepalivedPaths(await stateDir());
  const left = standIn(paths.config);
  await writeFile(paths.pid, `${left.pid}\n`);
  assert.deepEqual(await leftKeepalived(paths, "keepalived", "/proc/self/ns/net"), [
    { pid: left.pid, adoptable: true },
  ]);
  const logs: string[] = [];
  const exits: (number | null)[] = [];
  const supervisor = new KeepalivedSupervisor(
    paths,
    jsonLogger({ write: (s: string) => logs.push(s) }),
    { beforeStart: () => Promise.resolve(), onExit: (code) => exits.push(code), onLine: () => undefined },
    "keepalived",
  );
  assert.equal(await supervisor.adoptLeftover(), left.pid);
  assert.equal(supervisor.running, true);
  assert.equal(supervisor.adopted, true);
  // start() while one runs starts nothing: still the adopted process.
  await supervisor.start();
  assert.equal(supervisor.pid, left.pid);
  assert.equal(supervisor.starts, 0);
  const gone = new Promise((r) => left.on("exit", r));
  await supervisor.stop(2000);
  await gone;
  assert.equal(supervisor.running, false);
  assert.deepEqual(exits, [null]);
  assert.ok(logs.some((l) => l.includes("adopted the keepalived an earlier agent left running")));
});

test("a recycled pid, another program's, is neither adopted nor signalled", async () => {
  const paths = keepalivedPaths(await stateDir());
  const other = standIn(paths.config, "not-keepalived");
  await writeFile(paths.pid, `${other.pid}\n`);
  assert.deepEqual(await leftKeepalived(paths, "keepalived", "/proc/self/ns/net"), []);
  const supervisor = new KeepalivedSupervisor(
    paths,
    jsonLogger({ write: () => true }),
    { beforeStart: () => Promise.resolve(), onExit: () => undefined, onLine: () => undefined },
    "keepalived",
  );
  assert.equal(await supervisor.adoptLeftover(), undefined);
  await supervisor.stop(500);
  assert.equal(other.exitCode, null);
  assert.equal(other.signalCode, null, "still running");
});

test("a left keepalived in another network namespace, or a VRRP child without its parent, is stopped", async () => {
  const paths = keepalivedPaths(await stateDir());
  const child = standIn(paths.config);
  await writeFile(paths.vrrpPid, `${child.pid}\n`);
  assert.deepEqual(await leftKeepalived(paths, "keepalived", "/proc/self/ns/net"), [
    { pid: child.pid, adoptable: false },
  ]);
  await writeFile(paths.pid, `${child.pid}\n`);
  assert.deepEqual(await leftKeepalived(paths, "keepalived", "/run/netns/kao-no-such-namespace"), [
    { pid: child.pid, adoptable: false },
  ]);
  const supervisor = new KeepalivedSupervisor(
    paths,
    jsonLogger({ write: () => true }),
    { beforeStart: () => Promise.resolve(), onExit: () => undefined, onLine: () => undefined },
    "keepalived",
  );
  const gone = new Promise((r) => child.on("exit", r));
  // Never adopted and no plan came: stopping the agent still ends it.
  await supervisor.stop(2000);
  await gone;
});

test("VrrpObservations: seeds states an adopted keepalived reported before, notifications win", () => {
  const o = new VrrpObservations();
  const stats = (iname: string, state: number) => ({
    iname,
    intf: "eth0",
    vrid: 1,
    state,
    vips: [],
    advertRcvd: 0,
    advertSent: 0,
    becomeMaster: 0,
    releaseMaster: 0,
  });
  o.notified({ kind: "INSTANCE", name: "a", state: "BACKUP" }, 0);
  assert.equal(o.seed([stats("a", 2), stats("b", 2), stats("c", 1), stats("d", 0)]), true);
  assert.deepEqual([...o.states].sort(), [
    ["a", "BACKUP"],
    ["b", "MASTER"],
    ["c", "BACKUP"],
  ]);
  assert.equal(o.seed([stats("b", 1)]), false, "known instances keep their notified state");
  assert.deepEqual(o.masters(), ["b"]);
  o.forget();
  assert.deepEqual(o.masters(), []);
});

test("VrrpObservations: failover time from the last advert seen in BACKUP to MASTER", () => {
  const o = new VrrpObservations();
  const s = (advertRcvd: number) => [
    {
      iname: "a",
      intf: "eth0",
      vrid: 1,
      state: 1,
      vips: [],
      advertRcvd,
      advertSent: 0,
      becomeMaster: 0,
      releaseMaster: 0,
    },
  ];
  o.notified({ kind: "INSTANCE", name: "a", state: "BACKUP" }, 0);
  o.sampled(s(5), 1000);
  o.sampled(s(5), 2000);
  o.notified({ kind: "INSTANCE", name: "a", state: "MASTER" }, 4500);
  assert.equal(o.failover.samples().find((x) => x.suffix === "_sum")?.value, 3.5);
  assert.equal(o.failover.samples().find((x) => x.suffix === "_count")?.value, 1);
});
