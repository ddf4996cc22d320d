// What a CLI command may touch: its output streams and environment (tests pass their own); the flag parser
// and the --metrics-address flag that the long-running commands share.
import type { Server } from "node:http";
import { parseListenAddress } from "../lib/http.js";
import { serveProbes, type ListenAddress, type Probes } from "../lib/serve.js";

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

/**
 * Parses `--flag value` and `--flag=value` options; positional arguments are returned apart, and
 * `text(name)` is a string flag's value (undefined when not given).
 */
export function parseFlags<Name extends string>(
  args: string[],
  known: Record<Name, "string" | "boolean">,
): {
  flags: Record<string, string | boolean>;
  positional: string[];
  text: (name: Name) => string | undefined;
} {
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
    const kind = Object.hasOwn(known, name) ? known[name as Name] : undefined;
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
  const text = (name: Name): string | undefined => {
    const v = flags[name];
    return typeof v === "string" ? v : undefined;
  };
  return { flags, positional, text };
}

/** A parseFlags table entry for each flag that takes a value. */
export function stringFlags<Name extends string>(...names: Name[]): Record<Name, "string"> {
  return Object.fromEntries(names.map((n) => [n, "string"])) as Record<Name, "string">;
}

/** --metrics-address text → host and port, or a CliError showing `example`. */
export function parseMetricsAddress(text: string, example: string): ListenAddress {
  const listen = parseListenAddress(text);
  if (listen === undefined)
    throw new CliError(`--metrics-address ${JSON.stringify(text)} is not host:port; write e.g. ${example}`);
  return { ...listen, text };
}

/** Serves the probes on --metrics-address; a port in use or an unknown host becomes a CliError. */
export async function serveMetrics(listen: ListenAddress, probes: Probes): Promise<Server> {
  return serveProbes(listen, probes).catch((err: unknown) => {
    throw new CliError(`--metrics-address ${listen.text}: ${(err as Error).message}`);
  });
}
