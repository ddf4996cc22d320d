// What `controlplane up` and `lab up` leave behind for `down` and for a second `up`: small JSON state files in
// one private directory.
import { constants } from "node:fs";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runsBinary } from "./processes.js";

/** A control plane started by `controlplane up` (or `lab up`). */
export interface ControlPlaneState {
  dir: string;
  kubeconfigPath: string;
  server: string;
  pids: { etcd: number; kubeApiserver: number };
}

/** Where `controlplane up` records what it started: $KAO_STATE_DIR, /run, $XDG_RUNTIME_DIR or the temp dir. */
export async function stateFilePath(env: Record<string, string | undefined>): Promise<string> {
  const candidates = [
    env.KAO_STATE_DIR,
    "/run/keepalived-operator",
    env.XDG_RUNTIME_DIR === undefined ? undefined : join(env.XDG_RUNTIME_DIR, "keepalived-operator"),
    join(tmpdir(), `keepalived-operator-${process.getuid?.() ?? "user"}`),
  ];
  for (const dir of candidates) {
    if (dir === undefined || dir === "") continue;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await access(dir, constants.W_OK);
      return join(dir, "controlplane.json");
    } catch {
      // not writable here: try the next place
    }
  }
  throw new Error("no writable directory for the control-plane state file: set KAO_STATE_DIR");
}

/** A JSON state file, or undefined when there is none; `what` and `fix` word the error for a broken one. */
export async function readJsonState<T>(path: string, what: string, fix: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${path} is not a ${what} state file: ${fix}`);
  }
}

/** Writes a state file readable only by its owner. */
export async function writeJsonState(path: string, state: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
}

/** The recorded control plane, or undefined when there is no state file. */
export function readState(path: string): Promise<ControlPlaneState | undefined> {
  return readJsonState(path, "control-plane", "remove it");
}

export function writeState(path: string, state: ControlPlaneState): Promise<void> {
  return writeJsonState(path, state);
}

/** Both recorded processes still run the binaries we started. */
export function stateIsLive(state: ControlPlaneState): boolean {
  return runsBinary(state.pids.etcd, "etcd") && runsBinary(state.pids.kubeApiserver, "kube-apiserver");
}
