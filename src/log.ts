import { closeSync, openSync, writeSync } from "node:fs";
import { InvalidArgumentError } from "./errors.js";
import { redactText, redactValue } from "./redact.js";

/** The few logging calls nexcage makes; pino's shape, so pino serves it directly. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  flush(): void;
}

export type LogFormat = "text" | "json";

export interface LogOptions {
  /** --log FILE; without it, log lines (only with --debug) go to stderr. */
  readonly file?: string;
  readonly format: LogFormat;
  readonly debug: boolean;
}

const noop = () => {};
/** Used when nothing is to be logged: no --log, no --debug. Costs nothing to load. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, flush: noop };

/** runc's text format: time="..." level=error msg="..." key=value. */
export function jsonLineToText(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, ...rest } = entry;
  const parts = [`time=${JSON.stringify(String(time ?? ""))}`, `level=${String(level ?? "info")}`, `msg=${JSON.stringify(String(msg ?? ""))}`];
  for (const [k, v] of Object.entries(rest)) parts.push(`${k}=${JSON.stringify(typeof v === "string" ? v : JSON.stringify(v))}`);
  return `${parts.join(" ")}\n`;
}

/**
 * A pino logger writing runc-compatible lines synchronously: JSON `{"level":"error","time":"...","msg":"..."}`
 * (containerd reads the last error line of the --log file) or runc's text format.
 */
export async function createLogger(opts: LogOptions): Promise<Logger> {
  const { default: pino } = await import("pino");
  let fd: number;
  let ownFd = false;
  if (opts.file !== undefined) {
    try {
      fd = openSync(opts.file, "a", 0o600);
    } catch (e) {
      throw new InvalidArgumentError(`cannot open log file ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    ownFd = true;
  } else {
    fd = 2;
  }
  const stream = {
    write(line: string) {
      writeSync(fd, opts.format === "json" ? line : jsonLineToText(line));
    },
  };
  const logger = pino(
    {
      level: opts.debug ? "debug" : "warn",
      base: null,
      messageKey: "msg",
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label: string) => ({ level: label }) },
    },
    stream,
  );
  // credentials never reach a log line (src/redact.ts)
  const clean = (o: object) => redactValue(o) as object;
  return {
    debug: (o, m) => logger.isLevelEnabled("debug") && logger.debug(clean(o), redactText(m)),
    info: (o, m) => logger.info(clean(o), redactText(m)),
    warn: (o, m) => logger.warn(clean(o), redactText(m)),
    error: (o, m) => logger.error(clean(o), redactText(m)),
    flush: () => {
      if (ownFd) closeSync(fd);
      ownFd = false;
    },
  };
}
