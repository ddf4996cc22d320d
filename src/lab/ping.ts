// The client's view of a VIP: a fast ping whose replies give the outage a client saw.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Lab } from "./netns.js";

export interface PingResult {
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  /** Longest time between two consecutive replies, in ms (the outage a client saw). */
  maxGapMs: number;
  /** When each reply arrived (ms since the epoch, ping's own timestamps), in order: for timelines. */
  replies: number[];
}

/** Pings from the client namespace every `intervalMs` until stop() is called. */
export function startPing(lab: Lab, target: string, intervalMs = 10): { stop: () => Promise<PingResult> } {
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      lab.clientNs,
      "ping",
      target.includes(":") ? "-6" : "-4",
      "-n",
      "-D",
      "-W",
      "1",
      "-i",
      String(intervalMs / 1000),
      target,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const seqs = new Set<number>();
  let duplicates = 0;
  let lastReply: number | undefined;
  let maxGapMs = 0;
  let sent = 0;
  const replies: number[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    const reply = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/.exec(line);
    if (reply !== null) {
      const t = Number(reply[1]) * 1000;
      if (line.includes("DUP!")) duplicates++;
      else seqs.add(Number(reply[2]));
      replies.push(t);
      if (lastReply !== undefined) maxGapMs = Math.max(maxGapMs, t - lastReply);
      lastReply = t;
    }
    const summary = /(\d+) packets transmitted/.exec(line);
    if (summary !== null) sent = Number(summary[1]);
  });
  const done = new Promise<void>((r) =>
    child.on("exit", () => {
      r();
    }),
  );
  return {
    stop: async () => {
      child.kill("SIGINT");
      await done;
      return {
        sent,
        received: seqs.size,
        lost: Math.max(0, sent - seqs.size),
        duplicates,
        maxGapMs: Math.round(maxGapMs),
        replies,
      };
    },
  };
}
