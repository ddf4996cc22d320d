// JSON-line logging: one object per line, so the agent's own messages and keepalived's stay machine-readable.

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line carries these fields too. */
  with(fields: LogFields): Logger;
}

export function jsonLogger(
  out: { write(s: string): unknown },
  base: LogFields = {},
  now = (): Date => new Date(),
): Logger {
  const emit = (level: string, msg: string, fields: LogFields = {}): void => {
    out.write(`${JSON.stringify({ time: now().toISOString(), level, msg, ...base, ...fields })}\n`);
  };
  return {
    info: (msg, fields) => {
      emit("info", msg, fields);
    },
    warn: (msg, fields) => {
      emit("warn", msg, fields);
    },
    error: (msg, fields) => {
      emit("error", msg, fields);
    },
    with: (fields) => jsonLogger(out, { ...base, ...fields }, now),
  };
}
