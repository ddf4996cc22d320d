// The few file operations the agent needs: atomic replace, FIFO creation, removal that ignores absence.
import { execFile } from "node:child_process";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/**
 * Replaces `path` with `text` (temporary file in the same directory, fsync, rename) unless it already
 * holds exactly these bytes. Returns whether the file changed.
 */
export async function writeFileAtomic(path: string, text: string): Promise<boolean> {
  const current = await readFile(path, "utf8").catch(() => undefined);
  if (current === text) return false;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(tmp, "w", 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  // fsync the directory so the rename itself survives a crash.
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return true;
}

export async function ensureFifo(path: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (s?.isFIFO() === true) return;
  if (s !== undefined) await rm(path, { force: true });
  await mkdir(dirname(path), { recursive: true });
  // Node has no mkfifo(3); coreutils' mkfifo is on every host that has keepalived.
  await execFileP("mkfifo", ["-m", "0600", path]);
}

export async function removeFiles(paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}
