// `keepalived-operator controlplane up|down`: a local etcd + kube-apiserver that outlives the command.
import { rm } from "node:fs/promises";
import { startControlPlane, stopControlPlane } from "../lab/controlplane.js";
import { readState, stateFilePath, stateIsLive, writeState } from "../lab/stateFiles.js";
import { CliError, parseFlags, type Io } from "./io.js";

const USAGE = "usage: keepalived-operator controlplane up | down";

export async function runControlplane(args: string[], io: Io): Promise<number> {
  const { flags, positional } = parseFlags(args, { help: "boolean" });
  if (flags.help === true) {
    io.stdout.write(
      `${USAGE}\n  up    start (or reuse) and print the admin kubeconfig path\n  down  stop and remove\n`,
    );
    return 0;
  }
  const [action, ...extra] = positional;
  if (extra.length > 0 || (action !== "up" && action !== "down")) throw new CliError(USAGE);
  const path = await stateFilePath(io.env).catch((err: unknown) => {
    throw new CliError(String(err instanceof Error ? err.message : err));
  });
  const state = await readState(path).catch((err: unknown) => {
    throw new CliError(String(err instanceof Error ? err.message : err));
  });
  if (action === "down") {
    if (state === undefined) {
      io.stderr.write(`no control plane running (no ${path})\n`);
      return 0;
    }
    await stopControlPlane(state);
    await rm(path, { force: true });
    io.stderr.write(`stopped the control plane at ${state.server} and removed ${state.dir}\n`);
    return 0;
  }
  if (state !== undefined) {
    if (stateIsLive(state)) {
      io.stderr.write(`control plane already running at ${state.server} (state: ${path})\n`);
      io.stdout.write(`${state.kubeconfigPath}\n`);
      return 0;
    }
    // A half-dead control plane (one process gone, e.g. after a reboot) is replaced, not reused.
    io.stderr.write(`removing the stale control plane recorded in ${path}\n`);
    await stopControlPlane(state);
    await rm(path, { force: true });
  }
  try {
    const cp = await startControlPlane({ detached: true, log: (line) => io.stderr.write(`${line}\n`) });
    await writeState(path, {
      dir: cp.dir,
      kubeconfigPath: cp.kubeconfigPath,
      server: cp.server,
      pids: cp.pids,
    });
    io.stderr.write(
      `control plane running at ${cp.server}; stop it with: keepalived-operator controlplane down\n`,
    );
    io.stdout.write(`${cp.kubeconfigPath}\n`);
    return 0;
  } catch (err) {
    throw new CliError(
      `could not start the control plane: ${err instanceof Error ? err.message : String(err)}`,
      1,
    );
  }
}
