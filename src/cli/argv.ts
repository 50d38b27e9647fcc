/** The global flags of program.ts that take a value as the next argument (`--root DIR`). */
const GLOBAL_WITH_VALUE = new Set(["--root", "--log", "--log-format", "--config"]);
/** The global flags without a value. */
const GLOBAL_SWITCHES = new Set(["--debug", "--systemd-cgroup", "-v", "--version"]);

export interface ArgvScan {
  /** The command word, when everything before it is a known global flag. */
  readonly command?: string;
}

/**
 * Pure: which command an argv (without node and script) names, so only that command's module is
 * loaded. It only decides what to load, never how to parse: commander parses every call. Anything
 * it does not recognise before the command word (help, an unknown or combined flag) gives no
 * command, and the caller then builds the whole program so commander's own output is unchanged.
 */
export function scanArgv(args: readonly string[]): ArgvScan {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_SWITCHES.has(a)) continue;
    if (GLOBAL_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0 && GLOBAL_WITH_VALUE.has(a.slice(0, eq))) continue;
    if (a.startsWith("-")) return {};
    return { command: a };
  }
  return {};
}
