// The bench's command line: rows by name or number (every row, the last included), --trials and --seconds
// as whole numbers, and a message naming the argument and what to use instead for anything else.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArgsError, parseBenchArgs, ROW_IDS, selectedRows, USAGE, type BenchArgs } from "../../bench/args.js";

function parsed(argv: string[]): BenchArgs {
  const args = parseBenchArgs(argv);
  assert.notEqual(args, "help");
  return args as BenchArgs;
}

describe("parseBenchArgs", () => {
  it("takes every row by name and by its number, in the numbered order", () => {
    ROW_IDS.forEach((id, i) => {
      assert.deepEqual(parsed(["--only", id]).rows, [id]);
      assert.deepEqual(parsed(["--only", String(i + 1)]).rows, [id]);
    });
    assert.deepEqual(selectedRows(parsed(["--only", "stress,1", "--only", "new-vip"])), [
      "failover",
      "new-vip",
      "stress",
    ]);
    assert.deepEqual(selectedRows(parsed([])), [...ROW_IDS]);
  });

  it("refuses a row that does not exist, naming the choices", () => {
    for (const word of ["0", String(ROW_IDS.length + 1), "newvip"]) {
      assert.throws(
        () => parseBenchArgs(["--only", word]),
        (e: unknown) =>
          e instanceof ArgsError &&
          e.message.includes(JSON.stringify(word)) &&
          e.message.includes(`1-${ROW_IDS.length}`) &&
          e.message.includes("new-vip, stress"),
      );
    }
  });

  it("sets the trials and the stress duration; refuses anything but a whole number ≥ 1", () => {
    const args = parsed(["--quick", "--trials", "3", "--seconds", "5"]);
    assert.equal(args.trials, 3);
    assert.equal(args.seconds, 5);
    for (const bad of ["0", "1.5", "ten"]) {
      assert.throws(
        () => parseBenchArgs(["--seconds", bad]),
        (e: unknown) => e instanceof ArgsError && e.message.startsWith(`--seconds "${bad}"`),
      );
    }
    assert.throws(() => parseBenchArgs(["--seconds"]), /--seconds needs a value/);
  });

  it("lists every row in the usage", () => {
    for (const id of ROW_IDS) assert.ok(USAGE.includes(id), id);
    assert.ok(USAGE.includes("--seconds"));
  });
});
