// `keepalived --config-test` for many configs: each distinct text is checked once. A budget bounds the
// keepalived calls of a fuzz run; once a run has failed, shrinking may check as many as it needs.
import { ConfigTester } from "../support/keepalived.js";

export class CachedConfigTest {
  private readonly tester = new ConfigTester();
  private readonly seen = new Map<string, string[]>();
  /** keepalived calls made so far. */
  calls = 0;
  /** Configs left unchecked because the budget was spent. */
  skipped = 0;
  unlimited = false;

  constructor(private readonly budget = Infinity) {}

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
    const out = r.exitCode === 0 ? r.output : [...r.output, `exit code ${r.exitCode}`];
    this.seen.set(conf, out);
    return out;
  }

  close(): void {
    this.tester.close();
  }
}
