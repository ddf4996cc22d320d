// `keepalived --config-test` for many configs: each distinct text is checked once. A budget bounds the
// keepalived calls of a fuzz run; once a run has failed, shrinking may check as many as it needs.
import { ConfigTester } from "../support/keepalived.js";

const MISSING_INTERFACE =
  /interface \S+ for vrrp_instance \S+ doesn't exist|^Non-existent interface specified/;

export class CachedConfigTest {
  private readonly tester = new ConfigTester();
  private readonly seen = new Map<string, string[]>();
  /** keepalived calls made so far. */
  calls = 0;
  /** Configs left unchecked because the budget was spent. */
  skipped = 0;
  unlimited = false;

  constructor(public budget = Infinity) {}

  /**
   * What keepalived said about the config: its output lines and a non-zero exit code; [] when it accepted
   * the config silently. Undefined when the budget is spent.
   */
  problems(conf: string): string[] | undefined {
    const known = this.seen.get(conf);
    if (known !== undefined) return known;
    if (this.calls >= this.budget && !this.unlimited) {
      this.skipped++;
      return undefined;
    }
    this.calls++;
    const r = this.tester.check(conf, "hostile.conf");
    // The test namespace has eth0 only: a well-formed name of a NIC it lacks is the node's business.
    const output = r.output.filter((l) => !MISSING_INTERFACE.test(l));
    const onlyMissing = output.length === 0 && r.output.length > 0;
    const out = r.exitCode === 0 || onlyMissing ? output : [...output, `exit code ${r.exitCode}`];
    this.seen.set(conf, out);
    return out;
  }

  close(): void {
    this.tester.close();
  }
}
