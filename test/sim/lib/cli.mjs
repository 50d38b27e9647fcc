// @ts-check
// PVE::CLIHandler / RESTHandler::cli_handler / RESTEnvironment::fork_worker, reduced to what the
// simulator's commands need: command-name expansion, option parsing + schema validation (400
// errors get the short usage line appended), synchronous tasks and exit codes.
import { PveError, errText, print, printErr, state } from "./io.mjs";
import { getOptions } from "./getopt.mjs";
import { validate } from "./schema.mjs";

/**
 * @typedef {import("./schema.mjs").Prop} Prop
 * @typedef {{
 *   cls: string,
 *   method: string,
 *   properties: Record<string, Prop>,
 *   code: (param: Record<string, any>) => Promise<any>,
 *   argParam: string[],
 *   fixed?: Record<string, string>,
 *   formatter?: Record<string, Prop>,
 *   outsub?: (res: any, fmt: Record<string, any>) => void,
 *   upidExit?: boolean,
 * }} CmdDef
 */

/** getopt_usage($format = 'short') */
export function usageStr(prefix, def) {
  const fixed = def.fixed ?? {};
  const args = def.argParam
    .map((p) => {
      const pd = def.properties[p];
      if (!pd) return undefined;
      if (typeof pd.format === "string" && /-list/.test(pd.format)) return `{<${p}>}`;
      return pd.optional ? `[<${p}>]` : `<${p}>`;
    })
    .filter((x) => x !== undefined)
    .join(" ");
  const hasOptions = Object.keys(def.properties).some((k) => !def.argParam.includes(k) && fixed[k] === undefined);
  let out = `${prefix} ${args}`;
  if (hasOptions) out += " [OPTIONS]";
  if (def.formatter) out += " [FORMAT_OPTIONS]";
  return `${out}\n`;
}

/**
 * print_usage_short + exit(-1)
 * @param {string} exename
 * @param {Record<string, CmdDef>} cmddef
 * @param {string} msg
 */
function abort(exename, cmddef, msg) {
  let s = `ERROR: ${msg}\nUSAGE: ${exename} <COMMAND> [ARGS] [OPTIONS]\n\n`;
  const names = Object.keys(cmddef).sort((a, b) => {
    const ca = /** @type {CmdDef} */ (cmddef[a]).cls;
    const cb = /** @type {CmdDef} */ (cmddef[b]).cls;
    return ca < cb ? -1 : ca > cb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
  let oldcls;
  for (const n of names) {
    const def = /** @type {CmdDef} */ (cmddef[n]);
    if (oldcls && oldcls !== def.cls) s += "\n";
    s += `       ${usageStr(`${exename} ${n}`, def)}`;
    oldcls = def.cls;
  }
  printErr(`${s}\n`);
  return 255;
}

/**
 * run_cli_handler: returns the exit code.
 * @param {string} exename
 * @param {Record<string, CmdDef>} cmddef
 * @param {string[]} argv
 */
export async function runCliHandler(exename, cmddef, argv) {
  if (!argv.length) return abort(exename, cmddef, "no command specified");
  const given = /** @type {string} */ (argv[0]);
  let cmd = given;
  if (!cmddef[cmd]) {
    const expanded = Object.keys(cmddef).filter((c) => c.startsWith(given));
    if (expanded.length !== 1) return abort(exename, cmddef, `unknown command '${exename} ${given}'`);
    cmd = /** @type {string} */ (expanded[0]);
  }
  const def = /** @type {CmdDef} */ (cmddef[cmd]);
  const prefix = `${exename} ${cmd}`;
  try {
    const fixed = def.fixed ?? {};
    /** @type {Record<string, Prop>} */
    const optProps = {};
    for (const [k, v] of Object.entries({ ...def.properties, ...(def.formatter ?? {}) })) if (fixed[k] === undefined) optProps[k] = v;
    let param;
    /** @type {Record<string, any>} */
    const fmt = {};
    let res;
    try {
      param = getOptions(optProps, argv.slice(1), def.argParam);
      for (const k of Object.keys(def.formatter ?? {}))
        if (param[k] !== undefined) {
          fmt[k] = param[k];
          delete param[k];
        }
      Object.assign(param, fixed);
      validate(param, def.properties);
      res = await def.code(param);
    } catch (e) {
      if (e instanceof PveError && e.isParamExc()) e.usage = usageStr(prefix, def);
      throw e;
    }
    if (def.upidExit) return res && res.error !== undefined ? 255 : 0;
    if (def.outsub) def.outsub(res, fmt);
    // pct exec/enter: the attached command's status
    return res && typeof res.exitCode === "number" ? res.exitCode : 0;
  } catch (e) {
    printErr(errText(e));
    return e instanceof PveError ? e.exitCode : 255;
  }
}

/**
 * fork_worker in the CLI environment: runs synchronously in the foreground. Its output (including
 * warn()) goes to stdout; a failure prints the error (newlines flattened) on stderr.
 * @param {() => Promise<void>} fn
 * @returns {Promise<{error?: string}>}
 */
export async function forkWorker(fn) {
  state.taskDepth++;
  const savedWarnings = state.warnings;
  state.warnings = 0;
  /** @type {string|undefined} */
  let error;
  try {
    await fn();
  } catch (e) {
    error = errText(e).replace(/\n+$/, "").replace(/\n/g, " ");
  }
  const warnings = state.warnings;
  state.taskDepth--;
  state.warnings = savedWarnings;
  // a task started from within a task (create --start) reports into the outer task's log
  const report = state.taskDepth > 0 ? print : printErr;
  if (error !== undefined) report(`${error}\n`);
  else if (warnings) report(`Task finished with ${warnings} warning(s)!\n`);
  return error !== undefined ? { error } : {};
}
