// @ts-check
// Errors and output routing, modelled on PVE's Perl runtime:
//  * a plain `die "msg\n"` prints the message verbatim on stderr; Perl's exit code is errno if set,
//    else 255 (PVE's "Configuration file ... does not exist" is raised right after an ENOENT, so
//    callers get 2 for it outside a task);
//  * a PVE::Exception with code 400 prints "400 <msg>", one "<param>: <error>" line per parameter
//    and the command's short usage line;
//  * inside a task (fork_worker) STDERR is the task log, which the CLI copies to its stdout, so
//    warn() output lands on stdout there and on stderr elsewhere.

export class PveError extends Error {
  /**
   * @param {string} msg  message; Perl semantics: without a trailing newline a location suffix is added
   * @param {{code?: number, errors?: Map<string,string>|Record<string,string>, exitCode?: number, usage?: string}} [opts]
   */
  constructor(msg, opts = {}) {
    super(msg.replace(/\n$/, ""));
    this.pveMsg = msg;
    this.code = opts.code;
    /** @type {Map<string,string>|undefined} */
    this.errors =
      opts.errors instanceof Map ? opts.errors : opts.errors ? new Map(Object.entries(opts.errors)) : undefined;
    this.exitCode = opts.exitCode ?? 255;
    this.usage = opts.usage;
  }

  isParamExc() {
    return this.code === 400;
  }

  /** PVE::Exception::stringify */
  toString() {
    let msg = this.code ? `${this.code} ${this.pveMsg}` : this.pveMsg;
    if (!msg.endsWith("\n")) msg += "\n";
    if (this.errors) for (const [k, v] of this.errors) msg += `${k}: ${v}\n`;
    if (this.usage) {
      msg += this.usage;
      if (!msg.endsWith("\n")) msg += "\n";
    }
    return msg;
  }
}

/** `die "msg\n"` */
export function die(msg, exitCode = 255) {
  return new PveError(msg.endsWith("\n") ? msg : `${msg}\n`, { exitCode });
}

/** `die "msg"` without newline: Perl appends " at FILE line N." */
export function dieAt(msg, file, line) {
  return new PveError(`${msg} at ${file} line ${line}.\n`);
}

/** raise_param_exc({k => msg}) */
export function paramError(errors, msg = "Parameter verification failed.\n") {
  return new PveError(msg, { code: 400, errors });
}

/** raise("msg\n", code => 400) */
export function badRequest(msg) {
  return new PveError(msg, { code: 400 });
}

/** Render any thrown value like Perl would stringify $@. */
export function errText(e) {
  if (e instanceof PveError) return e.toString();
  if (e instanceof Error) return `${e.message}\n`;
  return `${String(e)}\n`;
}

export const state = {
  /** >0 while running inside a (simulated) task */
  taskDepth: 0,
  /** log_warn() counter of the innermost task */
  warnings: 0,
};

export function print(s) {
  process.stdout.write(s);
}

export function printErr(s) {
  process.stderr.write(s);
}

/** Perl warn(): STDERR, which is the task output (our stdout) inside a task. */
export function warn(msg) {
  const s = msg.endsWith("\n") ? msg : `${msg}\n`;
  if (state.taskDepth > 0) print(s);
  else printErr(s);
}

/** PVE::RESTEnvironment::log_warn: "WARN: msg", counted for "Task finished with N warning(s)!". */
export function logWarn(msg) {
  warn(`WARN: ${msg.replace(/\n$/, "")}`);
  if (state.taskDepth > 0) state.warnings++;
}
