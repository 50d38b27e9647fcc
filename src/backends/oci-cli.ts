import { closeSync, existsSync, openSync, readFileSync, readSync, statfsSync, statSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { run, start } from "../exec/run.js";
import { BackendError, oneLine, UnsupportedError } from "../errors.js";
import { BUNDLE_CONFIG_SIZE_LIMIT } from "../oci/bundle.js";
import { readRegularFile } from "../regular-file.js";
import type { BackendName } from "../names.js";
import type { Signal } from "../oci/signals.js";
import type { Backend, BackendContext, Created, CreateRequest, ExecRequest, ExitCode, Handle, HealthReport } from "./contract.js";
import { ensurePrivateFile } from "../state/private-file.js";
import { containerCgroupDirs, type CgroupBase } from "./cgroup-paths.js";
import { sweepCgroups } from "./cgroup-sweep.js";
import { readPidFile, waitForPidFile } from "./pid-file.js";
import { stopRuntimeCalls } from "./runtime-calls.js";
import type { OciRef } from "./probe.js";

export interface OciCliSettings {
  readonly name: BackendName;
  readonly binary: string;
  readonly timeoutMs: number;
  /** exec flags this runtime does not have (pure): refused by name rather than dropped. */
  readonly execRefusals?: (req: ExecRequest) => string[];
  /** update flags this runtime does not have (pure), as above. */
  readonly updateRefusals?: (flags: readonly string[]) => string[];
  /** A line put first in the health report (crun: which driver and why). */
  readonly healthNote?: string;
  /** Where this runtime anchors a container's cgroup path (cgroup-paths.ts). */
  readonly cgroupBase: CgroupBase;
}

/** inherit: all three of ours (the container gets them); capture: stdout/stderr piped; stdin: ours in, the rest piped. */
type Stdio = "inherit" | "capture" | "stdin";

/** The runtime's last error message written to its --log file (JSON lines) after `offset`. */
export function lastLoggedError(text: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (entry.level === "error" && typeof entry.msg === "string") found = entry.msg;
    } catch {
      // a torn or foreign line: ignore it
    }
  }
  return found;
}

function readFrom(path: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const size = statSync(path).size;
    if (size <= offset) return "";
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** A runtime that failed without logging a word may have found no room for its log and state. */
function fullDiskHint(dir: string): string {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize < 64 * 1024 ? ` (no space left on device in ${dir})` : "";
  } catch {
    return "";
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * A backend over an OCI runtime CLI (runc, crun). Each container gets its own runtime root at
 * <nexcage-root>/<id>/<backend>, so the runtime's state lives beside nexcage's record and a crashed
 * create can always be found again from the id alone.
 */
export class OciCliBackend implements Backend<OciRef> {
  readonly name: BackendName;

  constructor(
    protected readonly settings: OciCliSettings,
    protected readonly ctx: BackendContext,
  ) {
    this.name = settings.name;
  }

  /** The runtime's --root for a container directory: <root>/<id>/<backend>. */
  protected runtimeRoot(dir: string): string {
    return join(dir, this.name);
  }

  /** The state root recorded at create. */
  protected stateRoot(h: Handle<OciRef>): string {
    const root: unknown = h.ref.root;
    if (typeof root !== "string") throw new BackendError(`state of container ${h.id} has no ${this.name} root`);
    return root;
  }

  private logFile(dir: string): string {
    return join(dir, `${this.name}.log`);
  }

  private globalArgs(dir: string, stateRoot = this.runtimeRoot(dir)): string[] {
    const args = ["--root", stateRoot, "--log", this.logFile(dir), "--log-format", "json"];
    if (this.ctx.systemdCgroup) args.push("--systemd-cgroup");
    return args;
  }

  /** Runs the runtime; on failure throws its own error message, prefixed with what failed. */
  private async call(
    at: { dir: string; stateRoot?: string },
    args: string[],
    what: string,
    opts: { stdio: Stdio; cwd?: string; extraFds?: number } = { stdio: "capture" },
  ): Promise<{ exitCode: number; stdout: string }> {
    const dir = at.dir;
    const log = this.logFile(dir);
    ensurePrivateFile(log);
    const offset = sizeOf(log);
    const argv = [...this.globalArgs(dir, at.stateRoot), ...args];
    this.ctx.log.debug({ argv: [this.settings.binary, ...argv] }, `${this.name}: ${args[0]}`);
    const result = await run(this.settings.binary, argv, {
      stdin: opts.stdio === "capture" ? "ignore" : "inherit",
      output: opts.stdio === "inherit" ? "inherit" : "pipe",
      extraFds: opts.extraFds,
      cwd: opts.cwd,
      timeoutMs: this.settings.timeoutMs,
    });
    if (result.exitCode === 0) return { exitCode: 0, stdout: result.stdout };
    if (result.timedOut) {
      throw new BackendError(`${what}: ${this.name} did not answer within ${this.settings.timeoutMs / 1000}s`);
    }
    if (result.spawnError) {
      throw new BackendError(`${what}: cannot run ${this.settings.binary}: ${result.spawnError.code ?? result.spawnError.message}`);
    }
    const stderr = result.stderr;
    const logged = lastLoggedError(readFrom(log, offset));
    let reason = logged ?? (stderr.trim() || (result.signal ? `killed by ${result.signal}` : `exit status ${result.exitCode}`));
    if (!/no space left/i.test(reason)) reason += fullDiskHint(dir);
    this.ctx.log.debug({ stderr, exitCode: result.exitCode }, `${this.name}: ${args[0]} failed`);
    throw new BackendError(`${what}: ${oneLine(reason)}`);
  }

  /** True when the runtime has state for this container under its root. */
  protected known(stateRoot: string, id: string): boolean {
    return existsSync(join(stateRoot, id));
  }

  /** Where a recorded container's runtime calls go. */
  protected at(h: Handle<OciRef>): { dir: string; stateRoot: string } {
    return { dir: h.dir, stateRoot: this.stateRoot(h) };
  }

  private createArgs(verb: "create" | "run", req: CreateRequest): string[] {
    const args = [verb, "--bundle", req.bundle.path, "--pid-file", req.pidFile];
    if (req.consoleSocket !== undefined) args.push("--console-socket", req.consoleSocket);
    if (req.noPivot) args.push("--no-pivot");
    if (req.noNewKeyring) args.push("--no-new-keyring");
    if (req.preserveFds > 0) args.push("--preserve-fds", String(req.preserveFds));
    args.push(req.id);
    return args;
  }

  async create(req: CreateRequest): Promise<Created<OciRef>> {
    await this.call({ dir: req.dir }, this.createArgs("create", req), "create failed", {
      stdio: "inherit",
      cwd: req.bundle.path,
      extraFds: req.preserveFds,
    });
    const pid = readPidFile(req.pidFile);
    return { ref: { root: this.runtimeRoot(req.dir) }, pid };
  }

  async run(req: CreateRequest, onStarted: (created: Created<OciRef>) => Promise<void>): Promise<ExitCode> {
    const argv = [...this.globalArgs(req.dir), ...this.createArgs("run", req)];
    this.ctx.log.debug({ argv: [this.settings.binary, ...argv] }, `${this.name}: run`);
    const running = start(this.settings.binary, argv, { stdin: "inherit", output: "inherit", extraFds: req.preserveFds, cwd: req.bundle.path });
    let finished = false;
    void running.done.then(() => (finished = true));
    const pid = await waitForPidFile(req.pidFile, () => finished);
    if (pid !== undefined) await onStarted({ ref: { root: this.runtimeRoot(req.dir) }, pid });
    const result = await running.done;
    if (pid === undefined && result.exitCode !== 0) {
      const logged = lastLoggedError(readFrom(this.logFile(req.dir), 0));
      throw new BackendError(`run failed: ${oneLine(logged ?? `exit status ${result.exitCode}`)}`);
    }
    if (result.exitCode !== undefined) return result.exitCode;
    return 128 + (result.signal ? signalNumber(result.signal) : 0);
  }

  async start(h: Handle<OciRef>): Promise<void> {
    await this.call(this.at(h), ["start", h.id], "start failed");
  }

  async kill(h: Handle<OciRef>, signal: Signal, all: boolean): Promise<void> {
    const args = ["kill"];
    if (all) args.push("--all");
    args.push(h.id, String(signal.number));
    await this.call(this.at(h), args, "kill failed");
  }

  async delete(h: Handle<OciRef>, force: boolean): Promise<void> {
    const at = this.at(h);
    if (!this.known(at.stateRoot, h.id)) return;
    await this.call(at, force ? ["delete", "--force", h.id] : ["delete", h.id], "delete failed");
  }

  /**
   * What a create that failed, timed out or was killed left: runtime calls still at work on the
   * container, the runtime's own container (its `delete --force`), and the cgroups it made before
   * it wrote any state (killed with what runs in them, then removed).
   */
  async purge(id: string, dir: string, bundle?: string): Promise<void> {
    const stateRoot = this.runtimeRoot(dir);
    try {
      await stopRuntimeCalls(stateRoot);
    } catch (e) {
      throw new BackendError(`delete failed: ${(e as Error).message}`);
    }
    if (!existsSync(stateRoot)) return;
    if (this.known(stateRoot, id)) await this.forceDelete(id, dir);
    if (this.ctx.systemdCgroup) return; // systemd removes a scope once what runs in it is gone
    const dirs = containerCgroupDirs(readFileSync("/proc/self/mountinfo", "utf8"), readFileSync("/proc/self/cgroup", "utf8"), {
      id,
      cgroupsPath: bundle === undefined ? undefined : specCgroupsPath(bundle),
      base: this.settings.cgroupBase,
    });
    try {
      await sweepCgroups(dirs);
    } catch (e) {
      throw new BackendError(`delete failed: ${(e as Error).message}`);
    }
  }

  /** The runtime's `delete --force` of a container it has state for under <dir>/<backend>. */
  protected async forceDelete(id: string, dir: string): Promise<void> {
    await this.call({ dir }, ["delete", "--force", id], "delete failed");
  }

  // No probe: the init is a host process (registry: initIsHostProcess), read from /proc by the runtime.

  async exec(h: Handle<OciRef>, req: ExecRequest): Promise<ExitCode> {
    const unsupported = this.settings.execRefusals?.(req) ?? [];
    if (unsupported.length > 0) {
      throw new UnsupportedError(`the ${this.name} backend cannot honour exec ${unsupported.join(", ")}`);
    }
    const args = ["exec"];
    const opt = (flag: string, value: string | undefined) => {
      if (value !== undefined) args.push(flag, value);
    };
    opt("--process", req.processFile);
    opt("--console-socket", req.consoleSocket);
    if (req.detach) args.push("--detach");
    opt("--pid-file", req.pidFile);
    if (req.tty) args.push("--tty");
    opt("--cwd", req.cwd);
    for (const e of req.env) args.push("--env", e);
    opt("--user", req.user);
    for (const g of req.additionalGids) args.push("--additional-gids", g);
    if (req.noNewPrivs) args.push("--no-new-privs");
    for (const c of req.caps) args.push("--cap", c);
    if (req.preserveFds > 0) args.push("--preserve-fds", String(req.preserveFds));
    opt("--process-label", req.processLabel);
    opt("--apparmor", req.apparmor);
    opt("--cgroup", req.cgroup);
    if (req.ignorePaused) args.push("--ignore-paused");
    args.push(h.id, ...req.args);
    const { dir, stateRoot } = this.at(h);
    const log = this.logFile(dir);
    ensurePrivateFile(log);
    const offset = sizeOf(log);
    const argv = [...this.globalArgs(dir, stateRoot), ...args];
    this.ctx.log.debug({ argv: [this.settings.binary, ...argv] }, `${this.name}: exec`);
    const result = await run(this.settings.binary, argv, { stdin: "inherit", output: "inherit", extraFds: req.preserveFds });
    if (result.exitCode === 0) return 0;
    // A failure of the runtime itself is logged; a non-zero exit of the process is not.
    const logged = lastLoggedError(readFrom(log, offset));
    if (logged !== undefined || result.exitCode === undefined) {
      throw new BackendError(`exec failed: ${oneLine(logged ?? `${this.name} ${result.signal ? `killed by ${result.signal}` : "failed"}`)}`, result.exitCode || 1);
    }
    return result.exitCode;
  }

  async ps(h: Handle<OciRef>): Promise<number[]> {
    const { stdout } = await this.call(this.at(h), ["ps", "--format", "json", h.id], "ps failed");
    let pids: unknown;
    try {
      pids = JSON.parse(stdout);
    } catch {
      throw new BackendError(`ps failed: ${this.name} printed no JSON`);
    }
    if (!Array.isArray(pids) || !pids.every((p) => Number.isInteger(p))) throw new BackendError(`ps failed: ${this.name} printed no pid list`);
    return pids as number[];
  }

  async pause(h: Handle<OciRef>): Promise<void> {
    await this.call(this.at(h), ["pause", h.id], "pause failed");
  }

  async resume(h: Handle<OciRef>): Promise<void> {
    await this.call(this.at(h), ["resume", h.id], "resume failed");
  }

  async update(h: Handle<OciRef>, flags: readonly string[]): Promise<void> {
    const refused = this.settings.updateRefusals?.(flags) ?? [];
    if (refused.length > 0) throw new UnsupportedError(`the ${this.name} backend cannot honour update ${refused.join(", ")}`);
    await this.call(this.at(h), ["update", ...flags, h.id], "update failed", { stdio: "stdin" });
  }

  async health(): Promise<HealthReport> {
    const r = await this.toolHealth();
    return this.settings.healthNote === undefined ? r : { ...r, details: [this.settings.healthNote, ...r.details] };
  }

  /** The runtime binary's version lines, or why it cannot run. */
  protected async toolHealth(): Promise<HealthReport> {
    const result = await run(this.settings.binary, ["--version"], { timeoutMs: 10_000 });
    if (result.exitCode !== 0) {
      return {
        backend: this.name,
        ok: false,
        details: [`${this.settings.binary}: ${result.spawnError?.code === "ENOENT" ? "not installed" : oneLine(result.stderr || result.spawnError?.message || "failed")}`],
      };
    }
    const lines = String(result.stdout).split("\n").filter((l) => l.trim() !== "");
    return { backend: this.name, ok: true, details: [`${this.settings.binary}: ${lines.slice(0, 2).join(", ")}`] };
  }
}

/** The bundle's linux.cgroupsPath, if its config.json still says one. */
function specCgroupsPath(bundle: string): string | undefined {
  try {
    const spec = JSON.parse(readRegularFile(join(bundle, "config.json"), { limit: BUNDLE_CONFIG_SIZE_LIMIT })) as { linux?: { cgroupsPath?: unknown } };
    const p = spec.linux?.cgroupsPath;
    return typeof p === "string" ? p : undefined;
  } catch {
    return undefined; // gone or changed since create: the default path is the best guess
  }
}

function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name] ?? 0;
}

