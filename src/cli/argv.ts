/** The global flags of program.ts that take a value as the next argument (`--root DIR`). */
const GLOBAL_WITH_VALUE = new Set(["--root", "--log", "--log-format", "--config"]);
/** The global flags without a value. */
const GLOBAL_SWITCHES = new Set(["--debug", "--systemd-cgroup"]);
const VERSION_FLAGS = new Set(["-v", "--version"]);

export interface ArgvScan {
  /** The command word, when everything before it is a known global flag. */
  readonly command?: string;
  /**
   * `-v`/`--version` came among the known global flags, before any command word: commander prints
   * the version while it parses the global flags and stops, so no command is needed.
   */
  readonly version?: true;
}

/**
 * Pure: which command an argv (without node and script) names, so only that command's module is
 * loaded. It only decides what to load, never how to parse: commander parses every call. Anything
 * it does not recognise before the command word (help, an unknown or combined flag) gives no
 * command, and the caller then builds the whole program so commander's own output is unchanged.
 */
export function scanArgv(args: readonly string[]): ArgvScan {
  let version = false;
  const done = (command?: string): ArgvScan => ({ ...(command !== undefined ? { command } : {}), ...(version ? { version: true as const } : {}) });
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VERSION_FLAGS.has(a)) version = true;
    if (GLOBAL_SWITCHES.has(a) || VERSION_FLAGS.has(a)) continue;
    if (GLOBAL_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0 && GLOBAL_WITH_VALUE.has(a.slice(0, eq))) continue;
    if (a.startsWith("-")) return done();
    return done(a);
  }
  return done();
}
