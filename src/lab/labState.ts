// What `lab up` records in lab.json (next to controlplane.json) so that `lab down` removes exactly what it
// started, and the check that a recorded lab still runs in full.
import { dirname, join } from "node:path";
import { labNamespaces, listNamespaces, type Lab } from "./netns.js";
import { runsWith } from "./processes.js";
import {
  readJsonState,
  stateFilePath,
  stateIsLive,
  writeJsonState,
  type ControlPlaneState,
} from "./stateFiles.js";

/** Every namespace of the lab starts with this; test labs use kao<pid>-, so the two never meet. */
export const LAB_PREFIX = "kaolab-";

/** A background process of the lab; `marker` appears in its command line (guards against recycled pids). */
export interface LabProcess {
  role: string;
  pid: number;
  log: string;
  marker: string;
}

export interface LabState {
  dir: string;
  controlPlane: ControlPlaneState;
  /** The control plane was already running (`controlplane up`) when the lab came up. */
  controlPlaneReused: boolean;
  lab: Omit<Lab, "cleanup">;
  processes: LabProcess[];
  /** Set once the demo Service has answered. */
  demo?: { externalIP: string; answeredBy: string; assignedMs: number; firstAnswerMs: number };
}

export interface LabPaths {
  stateFile: string;
  controlPlaneFile: string;
  dir: string;
  /** Names the lab's network namespaces: $KAO_LAB_PREFIX, default kaolab- (tests run a second lab). */
  prefix: string;
}

/** Where the lab records itself: lab.json next to controlplane.json; its files go in lab/ beside it. */
export async function labPaths(env: Record<string, string | undefined>): Promise<LabPaths> {
  const prefix = env.KAO_LAB_PREFIX ?? LAB_PREFIX;
  // Letters only: a kao<digits>- prefix would be swept away as a crashed test run's.
  if (!/^[a-z]{1,12}-$/.test(prefix))
    throw new Error(
      `KAO_LAB_PREFIX=${JSON.stringify(prefix)} must be 1 to 12 letters and a dash, e.g. kaolab-`,
    );
  const controlPlaneFile = await stateFilePath(env);
  const base = dirname(controlPlaneFile);
  return { stateFile: join(base, "lab.json"), controlPlaneFile, dir: join(base, "lab"), prefix };
}

export function readLabState(path: string): Promise<LabState | undefined> {
  return readJsonState(path, "lab", "remove it, then run keepalived-operator lab down");
}

export function writeLabState(path: string, state: LabState): Promise<void> {
  return writeJsonState(path, state);
}

/** The process still runs and is the one we started. */
export function processRuns(p: Pick<LabProcess, "pid" | "marker">): boolean {
  return runsWith(p.pid, p.marker);
}

/** What is missing from a recorded lab; empty when every part of it still runs. */
export function labFaults(state: LabState): string[] {
  const faults: string[] = [];
  if (!stateIsLive(state.controlPlane)) faults.push("the control plane is not running");
  const namespaces = new Set(listNamespaces());
  for (const ns of labNamespaces(state.lab))
    if (!namespaces.has(ns)) faults.push(`network namespace ${ns} is gone`);
  for (const p of state.processes)
    if (!processRuns(p)) faults.push(`${p.role} (pid ${p.pid}) is not running; its log: ${p.log}`);
  if (state.demo === undefined) faults.push("the demo Service never answered");
  return faults;
}
