// The commands' pure flag parsers, one line per case (the agent's are in agent/api.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseControllerArgs } from "../../src/cli/controller.js";
import { CliError } from "../../src/cli/io.js";
import { parseRenderArgs } from "../../src/cli/render.js";

const args = (line: string): string[] => line.split(" ").filter((w) => w !== "");
const parsed = (line: string, env: Record<string, string> = {}) => parseControllerArgs(args(line), env);
const refused = (
  line: string,
  pattern: RegExp,
  parse: (args: string[], env: Record<string, string>) => unknown = parseControllerArgs,
): void => {
  assert.throws(
    () => parse(args(line), {}),
    (e: unknown) => e instanceof CliError && pattern.test(e.message),
  );
};
const defaults = {
  namespace: "keepalived-operator",
  listen: { host: "0.0.0.0", port: 8080, text: "0.0.0.0:8080" },
  leaderElect: true,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

test("controller flags: defaults, environment, overrides", () => {
  assert.deepEqual(parsed(""), defaults);
  assert.equal(parsed("--help"), "help");
  assert.deepEqual(parsed("", { POD_NAMESPACE: "ops", KUBECONFIG: "/k" }), {
    ...defaults,
    namespace: "ops",
    kubeconfig: "/k",
  });
  assert.deepEqual(parsed("--namespace x --kubeconfig /a", { POD_NAMESPACE: "ops", KUBECONFIG: "/k" }), {
    ...defaults,
    namespace: "x",
    kubeconfig: "/a",
  });
  assert.deepEqual(parsed("--leader-elect=false --identity me --metrics-address 127.0.0.1:1"), {
    ...defaults,
    leaderElect: false,
    identity: "me",
    listen: { host: "127.0.0.1", port: 1, text: "127.0.0.1:1" },
  });
  assert.deepEqual(parsed("--lease-duration 0.9 --renew-deadline=0.5 --retry-period 0.1"), {
    ...defaults,
    leaseDurationMs: 900,
    renewDeadlineMs: 500,
    retryPeriodMs: 100,
  });
});

test("controller flags: the mistakes, each named with its fix", () => {
  refused(
    "--metrics-address 8080",
    /--metrics-address "8080" is not host:port; write e\.g\. 0\.0\.0\.0:8080/,
  );
  refused("--lease-duration soon", /--lease-duration must be a positive number of seconds, got "soon"/);
  refused("--retry-period 0", /--retry-period must be a positive number of seconds, got "0"/);
  refused("--lease-duration 10", /need --lease-duration > --renew-deadline > --retry-period/);
  refused("--renew-deadline 1 --retry-period 1", /need --lease-duration > --renew-deadline > --retry-period/);
  refused("--leader", /unknown option --leader/);
  refused("--namespace", /option --namespace needs a value/);
});

const rendered = (line: string, env: Record<string, string> = {}) => parseRenderArgs(args(line), env);
const files = {
  groupFile: "g.yaml",
  servicesFile: "s.yaml",
  nodesFile: undefined,
  interface: undefined,
  password: undefined,
};

test("render flags", () => {
  assert.deepEqual(rendered("--group g.yaml --services s.yaml"), { ...files, node: "localhost" });
  assert.deepEqual(rendered("--group g.yaml --services s.yaml", { HOSTNAME: "h1" }), {
    ...files,
    node: "h1",
  });
  assert.deepEqual(
    rendered("--group g.yaml --services s.yaml --node n1 --nodes n.yaml --interface eth1 --password pw"),
    {
      ...files,
      node: "n1",
      nodesFile: "n.yaml",
      interface: "eth1",
      password: "pw",
    },
  );
  assert.equal(rendered("--help"), "help");
  refused("--services s.yaml", /--group <file> is required/, parseRenderArgs);
  refused("--group g.yaml", /--services <file> is required/, parseRenderArgs);
  refused("--group g.yaml --services s.yaml --nodes", /option --nodes needs a value/, parseRenderArgs);
});
