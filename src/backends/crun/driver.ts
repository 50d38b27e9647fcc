import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UnsupportedError, InvalidArgumentError } from "../../errors.js";
import type { Config } from "../../config/schema.js";
import { currentExecutableProtection, type ExecutableProtection } from "./exe-guard.js";
import { firstExisting, nativeDirs, SINGLE_BINARY, SYSTEM_LIB_DIR } from "../../install/layout.js";

export type DriverSetting = "auto" | "libcrun" | "cli";
export type DriverName = "libcrun" | "cli";

export const LIBCRUN_FILE = "libcrun.so.1.8.1";
/** Where the DEB installs the library. */
export const SYSTEM_LIBCRUN = `${SYSTEM_LIB_DIR}/${LIBCRUN_FILE}`;

export interface DriverFacts {
  /** backends.crun.driver from the config. */
  readonly configured: DriverSetting;
  /** $NEXCAGE_CRUN_DRIVER, which overrides the config. */
  readonly env: string | undefined;
  /** The library found, or why none was. */
  readonly library: { path: string } | { missing: string };
  readonly executable: ExecutableProtection;
}

export interface DriverChoice {
  readonly driver: DriverName;
  /** The setting that decided (the config's, or $NEXCAGE_CRUN_DRIVER over it). */
  readonly setting: DriverSetting;
  readonly reason: string;
  /** Set when the libcrun driver was chosen. */
  readonly libraryPath?: string;
}

export function driverSetting(configured: DriverSetting, env: string | undefined): { setting: DriverSetting; from: string } {
  if (env === undefined || env === "") return { setting: configured, from: "backends.crun.driver" };
  if (env !== "auto" && env !== "libcrun" && env !== "cli") {
    throw new InvalidArgumentError(`NEXCAGE_CRUN_DRIVER=${JSON.stringify(env)}: must be auto, libcrun or cli`);
  }
  return { setting: env, from: "NEXCAGE_CRUN_DRIVER" };
}

/**
 * Pure: which crun driver to use and why. `auto` takes libcrun when the library is there and this
 * executable is protected; `libcrun` insists (and refuses clearly when it cannot); `cli` is the crun CLI.
 */
export function chooseDriver(f: DriverFacts): DriverChoice {
  const { setting, from } = driverSetting(f.configured, f.env);
  if (setting === "cli") return { driver: "cli", setting, reason: `${from} is cli` };
  const problem =
    "missing" in f.library ? f.library.missing : !f.executable.protected ? f.executable.reason : undefined;
  if (problem === undefined && "path" in f.library) {
    return { driver: "libcrun", setting, reason: `${from} is ${setting}; ${f.executable.reason}`, libraryPath: f.library.path };
  }
  if (setting === "libcrun") throw new UnsupportedError(`crun driver libcrun (${from}) cannot be used: ${problem}`);
  return { driver: "cli", setting, reason: `${from} is auto and libcrun is not usable: ${problem}` };
}

/** The library: the configured path only, else the system location, else this checkout's build. */
export function findLibcrun(configured: string | undefined): { path: string } | { missing: string } {
  if (configured !== undefined) {
    return existsSync(configured) ? { path: configured } : { missing: `backends.crun.libcrunPath ${configured} does not exist` };
  }
  // the script bundle (dist/nexcage.mjs) finds this checkout's build; the single binary never evaluates import.meta
  const checkout = SINGLE_BINARY ? undefined : fileURLToPath(new URL("../build/libcrun", import.meta.url));
  const dirs = nativeDirs(SINGLE_BINARY, process.execPath, checkout);
  const found = firstExisting(dirs, LIBCRUN_FILE, existsSync);
  if (found !== undefined) return { path: found };
  return { missing: `no ${LIBCRUN_FILE} in ${dirs.join(" or ")} (build it with packaging/libcrun/build.sh)` };
}

/** Which crun driver this configuration and host give, and why (for --debug, health and version). */
export function crunDriver(ctx: { config: Config }, env: NodeJS.ProcessEnv = process.env): DriverChoice {
  const cfg = ctx.config.backends.crun;
  // with the CLI driver configured and not overridden, neither the library nor the executable is looked at
  const cliOnly = cfg.driver === "cli" && !env["NEXCAGE_CRUN_DRIVER"];
  const library = cliOnly ? { missing: "not looked for" } : findLibcrun(cfg.libcrunPath);
  return chooseDriver({
    configured: cfg.driver,
    env: env["NEXCAGE_CRUN_DRIVER"],
    library,
    executable: cliOnly ? { protected: false, reason: "not checked" } : currentExecutableProtection(),
  });
}

