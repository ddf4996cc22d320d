// keepalived's notify FIFO: one line per state change, e.g. `INSTANCE "node_a_ipv4" MASTER 200`.
import { constants, openSync } from "node:fs";
import { Socket } from "node:net";

export type VrrpState = "INIT" | "BACKUP" | "MASTER" | "FAULT" | "STOP" | "DELETED";

export interface VrrpEvent {
  kind: "INSTANCE" | "GROUP";
  name: string;
  state: VrrpState;
  priority?: number;
}

/** keepalived's numbering, as in its JSON dump and the Go exporter's keepalived_vrrp_state. */
export const STATE_NUMBER: Record<VrrpState, number> = {
  INIT: 0,
  BACKUP: 1,
  MASTER: 2,
  FAULT: 3,
  STOP: 0,
  DELETED: 0,
};

const LINE = /^(INSTANCE|GROUP) "([^"]+)" (INIT|BACKUP|MASTER|FAULT|STOP|DELETED)(?: (\d+))?$/;

/** Parses one FIFO line; undefined for lines of other kinds (checker events). Pure. */
export function parseNotifyLine(line: string): VrrpEvent | undefined {
  const m = LINE.exec(line.trim());
  if (m === null) return undefined;
  const event: VrrpEvent = { kind: m[1] as VrrpEvent["kind"], name: m[2] ?? "", state: m[3] as VrrpState };
  if (m[4] !== undefined) event.priority = Number(m[4]);
  return event;
}

/**
 * Reads the FIFO for as long as the agent lives. Opened read-write so that opening never blocks and a
 * restarting keepalived (the writer) never makes the reader see end-of-file.
 */
export class NotifyFifoReader {
  private socket: Socket | undefined;
  private buffer = "";

  constructor(
    private readonly path: string,
    private readonly onEvent: (e: VrrpEvent) => void,
  ) {}

  open(): void {
    const fd = openSync(this.path, constants.O_RDWR | constants.O_NONBLOCK);
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) !== -1) {
        const event = parseNotifyLine(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
        if (event !== undefined) this.onEvent(event);
      }
    });
    socket.on("error", () => undefined);
    this.socket = socket;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
