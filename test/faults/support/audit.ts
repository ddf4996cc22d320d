// The API server's audit log as the record of who wrote what and when: a minimal policy that logs write
// verbs at Metadata level, and a reader that turns its JSON lines into writes attributed to a user.
import { readFile } from "node:fs/promises";
import { parseMicroTime, type Write } from "./invariants.js";

/** Logs every write (at Metadata level: who, what, when, the answer), nothing else. */
export const WRITES_AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

interface AuditEvent {
  stage?: string;
  verb?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
}

/** The completed writes of the users in `writers` (username → the name the test gives that writer). */
export async function auditWrites(path: string, writers: ReadonlyMap<string, string>): Promise<Write[]> {
  const text = await readFile(path, "utf8");
  const writes: Write[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const e = JSON.parse(line) as AuditEvent;
    const writer = writers.get(e.user?.username ?? "");
    if (writer === undefined || e.stage !== "ResponseComplete") continue;
    const ref = e.objectRef ?? {};
    const object = [ref.resource, ref.subresource].filter((p) => p !== undefined).join("/");
    writes.push({
      writer,
      verb: e.verb ?? "",
      object: `${object} ${ref.namespace ?? ""}/${ref.name ?? ""}`,
      code: e.responseStatus?.code ?? 0,
      at: parseMicroTime(e.requestReceivedTimestamp ?? ""),
    });
  }
  return writes;
}
