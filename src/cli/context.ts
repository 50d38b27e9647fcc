import { resolve } from "node:path";
import type { Command } from "commander";
import { BUILD_ID } from "../build-id.js";
import { rootConfigMemo } from "../config/cache.js";
import { loadConfig, type LoadedConfig } from "../config/load.js";
import { createLogger, silentLogger, type LogFormat, type Logger } from "../log.js";
import type { Runtime } from "../runtime/runtime.js";
import { InvalidArgumentError } from "../errors.js";
import { writeOut } from "./write-fd.js";

export const DEFAULT_ROOT = "/run/nexcage";

/** The global flags, as containerd passes them before the command. */
export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: LogFormat;
  debug: boolean;
  systemdCgroup: boolean;
  config?: string;
}

/** Lazily built per call: config, logger and runtime exist only once a command needs them. */
export class CliContext {
  private logger: Logger = silentLogger;
  private loggerReady?: Promise<Logger>;
  private runtimePromise?: Promise<Runtime>;
  private loaded?: LoadedConfig;
  /** Exit code the command asks for (run's child exit code); errors set theirs in main. */
  exitCode = 0;

  constructor(private readonly program: Command) {}

  globals(): GlobalOptions {
    const o = this.program.opts() as Partial<GlobalOptions>;
    const format = o.logFormat ?? "text";
    if (format !== "text" && format !== "json") {
      throw new InvalidArgumentError(`invalid log format ${JSON.stringify(format)} (text or json)`);
    }
    return {
      root: resolve(o.root ?? DEFAULT_ROOT),
      log: o.log,
      logFormat: format,
      debug: o.debug === true,
      systemdCgroup: o.systemdCgroup === true,
      config: o.config,
    };
  }

  /** The logger, set up on first use; silent unless --log or --debug was given. */
  async log(): Promise<Logger> {
    if (!this.loggerReady) {
      const g = this.globals();
      this.loggerReady =
        g.log !== undefined || g.debug
          ? createLogger({ file: g.log, format: g.logFormat, debug: g.debug })
          : Promise.resolve(silentLogger);
      this.logger = await this.loggerReady;
    }
    return this.loggerReady;
  }

  /** The logger if it was already set up (used on the error path). */
  currentLogger(): Logger {
    return this.logger;
  }

  config(): LoadedConfig {
    if (!this.loaded) {
      const g = this.globals();
      this.loaded = loadConfig(g.config, process.env, BUILD_ID === undefined ? undefined : rootConfigMemo(g.root, BUILD_ID));
    }
    return this.loaded;
  }

  runtime(): Promise<Runtime> {
    this.runtimePromise ??= (async () => {
      const g = this.globals();
      const log = await this.log();
      const { Runtime } = await import("../runtime/runtime.js");
      // The config is read when the runtime first needs it: `state` and `list` of crun/runc
      // containers never do, so a missing or broken config file does not stop them.
      const config = (): LoadedConfig => this.config();
      const lazyConfig: LoadedConfig = {
        get config() {
          return config().config;
        },
        get source() {
          return config().source;
        },
      };
      return new Runtime({ root: g.root, config: lazyConfig, log, systemdCgroup: g.systemdCgroup, debug: g.debug });
    })();
    return this.runtimePromise;
  }

  out(text: string): void {
    writeOut(text);
  }
}
