// What a CLI command may touch: its output streams and environment. Tests pass their own.

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: Record<string, string | undefined>;
}

/** A failure the user can fix: printed as one message, exit code 2 by default. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Parses `--flag value` and `--flag=value` options; positional arguments are returned apart. */
export function parseFlags(
  args: string[],
  known: Record<string, "string" | "boolean">,
): { flags: Record<string, string | boolean>; positional: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const kind = known[name];
    if (kind === undefined)
      throw new CliError(
        `unknown option --${name} (known: ${Object.keys(known)
          .map((k) => `--${k}`)
          .join(", ")})`,
      );
    if (kind === "boolean") {
      flags[name] = eq === -1 ? true : arg.slice(eq + 1) !== "false";
      continue;
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "") throw new CliError(`option --${name} needs a value`);
    flags[name] = value;
  }
  return { flags, positional };
}
