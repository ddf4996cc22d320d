// What a CLI command may touch: its output streams and environment (tests pass their own); the flag parser
// and the --metrics-address flag that the long-running commands share.
import type { Server } from "node:http";
import { parseListenAddress } from "../lib/http.js";
import { serveProbes, type Probes } from "../lib/serve.js";

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

/** The value of a string flag, or undefined when it was not given. */
export function flagText(flags: Record<string, string | boolean>, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
}

/** A --metrics-address as typed (for messages) and as parsed. */
export interface ListenSettings {
  host: string;
  port: number;
  text: string;
}

/** --metrics-address text → host and port, or a CliError showing `example`. */
export function parseMetricsAddress(text: string, example: string): ListenSettings {
  const listen = parseListenAddress(text);
  if (listen === undefined)
    throw new CliError(`--metrics-address ${JSON.stringify(text)} is not host:port; write e.g. ${example}`);
  return { ...listen, text };
}

/** Serves the probes on --metrics-address; a port in use or an unknown host becomes a CliError. */
export async function serveMetricsAddress(listen: ListenSettings, probes: Probes): Promise<Server> {
  return serveProbes(listen, probes).catch((err: unknown) => {
    throw new CliError(`--metrics-address ${listen.text}: ${(err as Error).message}`);
  });
}
