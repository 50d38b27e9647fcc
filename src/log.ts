import { closeSync, openSync, writeSync } from "node:fs";
import { InvalidArgumentError } from "./errors.js";
import { redactText, redactValue } from "./redact.js";

/** The few logging calls nexcage makes; pino's shape, so pino serves it directly. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** Writes the lines still waiting (see createLogger) and closes the log file. */
  flush(): Promise<void>;
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
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, flush: async () => {} };

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
 * A pino logger writing runc-compatible lines: JSON `{"level":"error","time":"...","msg":"..."}`
 * (containerd reads the last error line of the --log file) or runc's text format.
 *
 * The log file is opened at once (an unusable --log fails the call, as with runc). pino itself is
 * loaded at once only with --debug; without it (containerd always passes --log, rarely --debug)
 * only warn and error lines pass, which are rare, so pino is loaded by the first of them and the
 * lines are written in order as soon as it is there; flush() waits for them. Loading pino costs
 * about 10 ms of CPU (docs/performance.md).
 */
export async function createLogger(opts: LogOptions): Promise<Logger> {
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
  const load = async () => {
    const { default: pino } = await import("pino");
    return pino(
      {
        level: opts.debug ? "debug" : "warn",
        base: null,
        messageKey: "msg",
        timestamp: () => `,"time":"${new Date().toISOString()}"`,
        formatters: { level: (label: string) => ({ level: label }) },
      },
      stream,
    );
  };
  type Pino = Awaited<ReturnType<typeof load>>;
  const close = () => {
    if (ownFd) closeSync(fd);
    ownFd = false;
  };
  // credentials never reach a log line (src/redact.ts)
  const clean = (o: object) => redactValue(o) as object;
  if (opts.debug) {
    const logger = await load();
    return {
      debug: (o, m) => logger.isLevelEnabled("debug") && logger.debug(clean(o), redactText(m)),
      info: (o, m) => logger.info(clean(o), redactText(m)),
      warn: (o, m) => logger.warn(clean(o), redactText(m)),
      error: (o, m) => logger.error(clean(o), redactText(m)),
      flush: async () => close(),
    };
  }
  let logger: Promise<Pino> | undefined;
  let written: Promise<void> = Promise.resolve();
  const later = (level: "warn" | "error") => (o: object, m: string) => {
    logger ??= load();
    const loaded = logger;
    // redacted now: the caller may change the object before the line is written
    const [obj, msg] = [clean(o), redactText(m)];
    written = written.then(async () => (await loaded)[level](obj, msg)).catch(() => {});
  };
  return {
    debug: noop,
    info: noop,
    warn: later("warn"),
    error: later("error"),
    flush: async () => {
      await written;
      close();
    },
  };
}
