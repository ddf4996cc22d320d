// fast-check arbitraries for the fuzz properties: hostile strings, numbers and JSON values for every field
// of a KeepalivedGroup, a Service and a Node, mixed with valid values so that inputs get past the first check.
import fc from "fast-check";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Characters and words that mean something to keepalived, YAML, JSON or a terminal. */
const SPECIAL = [
  "\n",
  "\r",
  "{",
  "}",
  '"',
  "'",
  "#",
  "!",
  "\\",
  "\0",
  " ",
  "\t",
  "@",
  "$",
  "include ",
  "vrrp_strict",
];
const MORE = ["\u2028", "é", "/", ",", "-", ".", ":", "%", "0x", "1e3", "-1", "\u200b", "\ud800"];
/** Fragments of valid values, so that hostile ones look almost right. */
const TOKENS = [
  "eth0",
  "lb",
  "yes",
  "kao/hostile",
  "kao/other",
  "198.18.100.20",
  "198.18.200.5",
  "198.18.0.21",
  "198.18.100.0/24",
  "2001:db8::1",
  "0.001",
  "60",
  "255",
  "1",
  "",
  "pool",
  "true",
];

const piece = fc.oneof(
  fc.constantFrom(...SPECIAL),
  fc.constantFrom(...MORE),
  fc.constantFrom(...TOKENS),
  fc.string({ maxLength: 6 }),
);

/** A string that is almost a valid value, or plain garbage, or very long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join("")) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  {
    weight: 1,
    // Long, but not so long that a refusal quoting it outgrows an Event: the corpus holds those cases.
    arbitrary: fc.tuple(fc.constantFrom("1", "e", "0"), fc.nat({ max: 700 })).map(([c, n]) => c.repeat(n)),
  },
);

/** Usually `valid`, sometimes hostile. */
export const orHostile = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: hostile });

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -5, max: 300 }),
  fc.constantFrom(0, -1, 255, 256, 1000, 1001, 40950, 40960, 65535, 2 ** 31, 2 ** 53, 1e21, 1e300, 0.5, 2.5),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, biased to hostile strings and numbers: type confusion in any field. */
export const anyJson: fc.Arbitrary<Json> = fc.oneof(
  { weight: 2, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, true, false, [], {}) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
);

const ip = fc.constantFrom("198.18.100.20", "198.18.100.21", "198.18.200.5", "198.18.200.9", "2001:db8::20");
const range = fc.constantFrom(
  "198.18.100.0/24",
  "198.18.200.0/28",
  "198.18.200.16-198.18.200.20",
  "2001:db8::/120",
);

/** The string fields of a group's spec: interface, selectors, ranges, pools, names. */
export const groupStrings = fc.record(
  {
    metadata: fc.record({ name: orHostile(fc.constant("hostile"), hostileString) }, { requiredKeys: [] }),
    spec: fc.record(
      {
        interface: orHostile(fc.constant("eth0"), hostileString),
        nodeSelector: orHostile(
          fc.constant({ lb: "yes" }),
          fc.dictionary(hostileString, hostileString, { maxKeys: 2 }),
        ),
        blacklistRouterIDs: fc.array(orHostile(fc.constantFrom("7", "8"), hostileString), { maxLength: 3 }),
        allowedCIDRs: fc.array(orHostile(range, hostileString), { maxLength: 3 }),
        addressPools: fc.array(
          fc.record({
            name: orHostile(fc.constant("pool"), hostileString),
            addresses: fc.array(orHostile(range, hostileString), { minLength: 1, maxLength: 2 }),
          }),
          { maxLength: 2 },
        ),
        routerIDScope: fc.constantFrom("Cluster", "Group"),
        unicastEnabled: fc.boolean(),
        spreadVIPs: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

/** Global keys keepalived knows, and some it does not; values that are numbers, words or hostile. */
export const groupVerbatim = fc.record({
  spec: fc.record({
    verbatimConfig: fc.dictionary(
      orHostile(
        fc.constantFrom("vrrp_garp_interval", "vrrp_gna_interval", "max_auto_priority", "router_id"),
        hostileString,
      ),
      orHostile(fc.constantFrom("0.001", "1", "-1", "lb-west"), hostileString),
      { maxKeys: 3 },
    ),
  }),
});

/** The numbers of a group's spec: VRRP timing, preemption, gratuitous ARP, router IDs. */
export const groupNumbers = fc.record({
  spec: fc.record(
    {
      vrrp: fc.record(
        {
          version: fc.constantFrom(2, 3),
          timing: fc.constantFrom("Default", "Fast"),
          advertIntervalMilliseconds: orHostile(fc.constantFrom(100, 1000, 3000), hostileNumber),
          preempt: fc.boolean(),
          preemptDelaySeconds: orHostile(fc.constantFrom(0, 10), hostileNumber),
          garp: fc.record(
            {
              masterDelaySeconds: orHostile(fc.constantFrom(1, 5), hostileNumber),
              masterRepeat: orHostile(fc.constantFrom(3, 5), hostileNumber),
              masterRefreshSeconds: orHostile(fc.constantFrom(0, 60), hostileNumber),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
      routerIDRange: fc.record({ min: hostileNumber, max: hostileNumber }, { requiredKeys: [] }),
      blacklistRouterIDs: fc.array(hostileNumber, { maxLength: 3 }),
    },
    { requiredKeys: [] },
  ),
});

const annotation = (name: string): string => `keepalived-operator.redhat-cop.io/${name}`;

/** Every string a Service author writes: annotations, externalIPs, loadBalancerIP, names. */
export const serviceStrings = fc.record(
  {
    metadata: fc.record(
      {
        name: orHostile(fc.constantFrom("hostile", "web"), hostileString),
        annotations: fc.record(
          {
            [annotation("keepalivedgroup")]: orHostile(
              fc.constantFrom("kao/hostile", "kao/other"),
              hostileString,
            ),
            [annotation("spreadvips")]: orHostile(fc.constantFrom("true", "false"), hostileString),
            [annotation("loadbalancer-ips")]: orHostile(ip, hostileString),
            [annotation("allow-shared-ip")]: hostileString,
            [annotation("address-pool")]: orHostile(fc.constant("pool"), hostileString),
          },
          { requiredKeys: [] },
        ),
        labels: fc.dictionary(hostileString, hostileString, { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    ),
    spec: fc.record(
      {
        type: fc.constantFrom("LoadBalancer", "ClusterIP"),
        externalIPs: fc.array(orHostile(ip, hostileString), { maxLength: 3 }),
        loadBalancerIP: orHostile(ip, hostileString),
        externalTrafficPolicy: fc.constantFrom("Cluster", "Local"),
        healthCheckNodePort: fc.integer({ min: 30000, max: 32767 }),
      },
      { requiredKeys: [] },
    ),
    status: fc.record({
      loadBalancer: fc.record({
        ingress: fc.array(fc.record({ ip: orHostile(ip, hostileString) }), { maxLength: 2 }),
      }),
    }),
  },
  { requiredKeys: [] },
);

const ALLOW_LIST = [
  "advert_int",
  "preempt_delay",
  "nopreempt",
  "garp_master_delay",
  "garp_master_repeat",
  "garp_master_refresh",
  "garp_master_refresh_repeat",
  "garp_lower_prio_delay",
  "garp_lower_prio_repeat",
  "unicast_ttl",
  "dont_track_primary",
  "skip_check_adv_addr",
  "accept",
  "no_accept",
];

/** The verbatimconfig annotation: allow-listed keys (and others) with values of every kind. */
export const serviceVerbatim = fc
  .dictionary(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...ALLOW_LIST) },
      { weight: 1, arbitrary: hostileString },
    ),
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom<Json>(
          "",
          "true",
          "0",
          "1",
          "3",
          "10",
          "60",
          "0.5",
          "40.95",
          "41",
          "255",
          "1000",
          5,
          true,
        ),
      },
      { weight: 1, arbitrary: hostileString },
      { weight: 1, arbitrary: hostileNumber },
      { weight: 1, arbitrary: anyJson },
    ),
    { maxKeys: 4 },
  )
  .map((o) => ({ metadata: { annotations: { [annotation("verbatimconfig")]: JSON.stringify(o) } } }));

/** Node facts that reach a config: names (comments, instance names) and addresses (unicast peers). */
export const nodeFacts = fc.record({
  names: fc.array(orHostile(fc.constantFrom("n4", "n5"), hostileString), { minLength: 1, maxLength: 2 }),
  address: orHostile(fc.constantFrom("198.18.0.24", "2001:db8::24"), hostileString),
});

/** The VRRP password the agent reads from the group's Secret (never empty: `render --password` needs one). */
export const password = orHostile(fc.constantFrom("s3cret", "correct-horse"), hostileString).filter(
  (p) => p !== "",
);

/** Replaces one field of `base`, found by path, with any JSON value: type confusion one field at a time. */
export function confuse(paths: readonly string[][]): fc.Arbitrary<{ path: string[]; value: Json }> {
  return fc.record({ path: fc.constantFrom(...paths), value: anyJson });
}

/** An object whose `path` holds `value` (intermediate objects created). */
export function at(path: readonly string[], value: Json): Json {
  return path.reduceRight<Json>((inner, key) => ({ [key]: inner }), value);
}
