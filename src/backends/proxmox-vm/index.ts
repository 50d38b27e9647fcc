import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../../crash-point.js";
import { isSameLiveProcess, readProcStat } from "../../proc/stat.js";
import { BackendError, NotRunningError, UnsupportedError } from "../../errors.js";
import type { Signal } from "../../oci/signals.js";
import type { BackendContext, Created, CreateRequest, ExecRequest, ExitCode, Handle, Probe } from "../contract.js";
import { GuestBackend, type GuestCreateJob, type GuestRef } from "../proxmox/guest-backend.js";
import { startedMarker } from "../proxmox/guest-probe.js";
import { KILLED_EXIT_CODE } from "./exit-status.js";
import { GuestAgent } from "./guest-agent.js";
import { refuseExec, type ProcessDefaults } from "./guest-exec.js";
import { readExitCode, statusVolume } from "./status-disk.js";
import { planVm, snippetFileName } from "./plan.js";
import { QmError } from "./qm-errors.js";
import { runQm, type QmTools } from "./qm.js";
import type { ProxmoxVmSettings } from "./settings.js";

/** The VM's VMID and its cloud-init snippet on the node (removed with the VM). */
export interface VmRef extends GuestRef {
  readonly snippet: string;
}

/** Signals that ask the guest to power off (ACPI / guest agent shutdown). */
const SHUTDOWN_SIGNALS = new Set(["SIGTERM", "SIGINT", "SIGPWR"]);
/** GuestBackend's started marker (<root>/<id>/proxmox-vm.started). */
const STARTED = "proxmox-vm.started";
/** The process's exit code once known (from the status disk, or SIGKILL's when nexcage stopped the VM). */
const EXIT = "proxmox-vm.exit";
/** The bundle's process (args, env, cwd, user): what exec starts from, as runc's does. */
const PROCESS = "proxmox-vm.process.json";
const POLL_MS = 1000;
/** Between `qm status` calls when the VM runs and its QEMU is not (or no longer) the process watched. */
const QM_POLL_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An OCI container as a Proxmox VM: cloned from a template VM or created from a disk image, sized
 * from the bundle, with the bundle's process delivered as a cloud-init user-data snippet that runs
 * it as a systemd service. The container's pid is the host pid of the VM's QEMU process. The
 * lifecycle's shape (intent, VMID, started marker, status, destroy) is GuestBackend's.
 */
export class ProxmoxVmBackend extends GuestBackend<VmRef> {
  readonly name = "proxmox-vm" as const;
  private readonly tools: QmTools;

  constructor(
    private readonly settings: ProxmoxVmSettings,
    ctx: BackendContext,
  ) {
    const tools: QmTools = { qm: settings.qm, pvesh: settings.pvesh, timeoutMs: settings.timeoutSeconds * 1000, log: ctx.log };
    super(
      {
        backend: "proxmox-vm",
        guest: "vm",
        crashPoints: {
          "intent-written": () => crashPoint("proxmox-vm:intent-written"),
          "vmid-chosen": () => crashPoint("proxmox-vm:vmid-chosen"),
          created: () => crashPoint("proxmox-vm:vm-created"),
          started: () => crashPoint("proxmox-vm:vm-started"),
          destroyed: () => crashPoint("proxmox-vm:vm-destroyed"),
        },
        paths: [["qm", settings.qm], ["pvesh", settings.pvesh]],
        confDir: settings.confDir,
        vmidRange: settings.vmidRange,
        run: (args, what, vmid, timeoutMs) => runQm(tools, "qm", args, what, { vmid, template: settings.template }, timeoutMs),
        nextId: () => runQm(tools, "pvesh", ["get", "/cluster/nextid"], "create failed"),
        isTaken: (e) => e instanceof QmError && e.kind === "vmid-taken",
        isMissing: (e) => e instanceof QmError && e.kind === "vm-missing",
        // `qm destroy` refuses a running VM; with force it is stopped first
        destroyCommands: (vmid, force) => [...(force ? [["stop", String(vmid)]] : []), ["destroy", String(vmid), "--purge"]],
      },
      ctx,
    );
    this.tools = tools;
  }

  private qm(args: readonly string[], what: string, vmid?: number, timeoutMs?: number) {
    return this.tool.run(args, what, vmid, timeoutMs);
  }

  /** The user-data snippet, written under a temporary name and renamed: Proxmox never reads half of it. */
  private writeSnippet(file: string, content: string): string {
    const dir = this.settings.snippetDir;
    const target = join(dir, file);
    const temp = join(dir, `.${file}.partial`);
    try {
      writeFileSync(temp, content, { mode: 0o644 });
      renameSync(temp, target);
    } catch (e) {
      rmSync(temp, { force: true });
      throw new BackendError(`create failed: cannot write the cloud-init snippet into ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check backends.proxmox-vm.snippetDir`);
    }
    return target;
  }

  protected async prepare(req: CreateRequest): Promise<GuestCreateJob<VmRef>> {
    const plan = planVm({
      id: req.id,
      bundlePath: req.bundle.path,
      spec: req.bundle.spec,
      settings: this.settings,
      consoleSocket: req.consoleSocket !== undefined,
      snippetFile: snippetFileName(req.id),
    });
    for (const note of plan.notes) this.ctx.log.warn({ id: req.id }, `proxmox-vm: ${note}`);
    const snippetFile = plan.snippetVolume.slice(plan.snippetVolume.indexOf("/") + 1);
    const snippet = join(this.settings.snippetDir, snippetFile);
    this.intend(req.dir, [snippet]);
    const p = (req.bundle.spec as { process?: Record<string, unknown> }).process ?? {};
    writeFileSync(join(req.dir, PROCESS), JSON.stringify({ args: p["args"], env: p["env"], cwd: p["cwd"], user: p["user"] }));
    this.writeSnippet(snippetFile, plan.userData);
    crashPoint("proxmox-vm:snippet-written");
    return {
      files: [snippet],
      makeArgs: (vmid) => plan.commands(vmid)[0]!,
      finish: async (vmid) => {
        for (const argv of plan.commands(vmid).slice(1)) await this.qm(argv, "create failed", vmid);
        crashPoint("proxmox-vm:vm-configured");
      },
      ref: (vmid) => ({ vmid, snippet }),
    };
  }

  /**
   * SIGTERM, SIGINT and SIGPWR ask the guest to power off (`qm shutdown`); when it has not within
   * shutdownTimeoutSeconds, `qm stop` (if configured). SIGKILL is `qm stop`. A VM has no other
   * signals to give its process, so they are refused. `--all` changes nothing: the VM is one unit.
   */
  async kill(h: Handle<VmRef>, signal: Signal, _all: boolean): Promise<void> {
    const vmid = this.vmidOf(h);
    // a created container is a stopped VM: nothing runs that a signal could reach, unless a
    // `start` crashed after starting the VM and before recording it
    const running = h.pid > 0 || (h.status === "created" && (await this.probe(h)).status === "running");
    if (!running) throw new NotRunningError();
    if (signal.name === "SIGKILL") {
      await this.qm(["stop", String(vmid)], "kill failed", vmid);
      await this.recordExit(vmid, h.dir, KILLED_EXIT_CODE);
      return;
    }
    if (!SHUTDOWN_SIGNALS.has(signal.name)) {
      throw new UnsupportedError(`proxmox-vm cannot deliver ${signal.name} to a VM: SIGTERM, SIGINT or SIGPWR shut it down, SIGKILL stops it`);
    }
    const t = this.settings.shutdownTimeoutSeconds;
    try {
      await this.qm(["shutdown", String(vmid), "--timeout", String(t)], "kill failed", vmid, Math.max(this.tools.timeoutMs, (t + 30) * 1000));
    } catch (e) {
      if (!(e instanceof QmError && e.kind === "shutdown-timeout" && this.settings.stopAfterShutdownTimeout)) throw e;
      this.ctx.log.warn({ id: h.id, vmid }, `proxmox-vm: VM ${vmid} did not power off within ${t}s; stopping it`);
      await this.qm(["stop", String(vmid)], "kill failed", vmid);
      await this.recordExit(vmid, h.dir, KILLED_EXIT_CODE);
    }
  }

  /** A stopped VM that was started: its process's exit code is recorded the first time it is seen so. */
  override async probe(h: Handle<VmRef>): Promise<Probe> {
    const p = await super.probe(h);
    if (p.status === "stopped" && existsSync(startedMarker(h, STARTED))) await this.recordExit(this.vmidOf(h), h.dir);
    return p;
  }

  /**
   * The process's exit code, recorded in `<dir>/proxmox-vm.exit` the first time it is known: what
   * the guest wrote on the status disk before powering off, else `fallback` (SIGKILL's when nexcage
   * stopped the VM).
   */
  private async recordExit(vmid: number, dir: string, fallback?: number): Promise<number | undefined> {
    const file = join(dir, EXIT);
    if (existsSync(file)) return Number(readFileSync(file, "utf8"));
    let config: string;
    try {
      config = await this.qm(["config", String(vmid)], "state failed", vmid);
    } catch (e) {
      if (e instanceof QmError && e.kind === "vm-missing") return fallback;
      throw e;
    }
    const volid = statusVolume(config);
    const code = (volid === undefined ? undefined : await readExitCode({ pvesm: this.settings.pvesm, timeoutMs: this.tools.timeoutMs, log: this.ctx.log }, volid)) ?? fallback;
    if (code !== undefined) {
      writeFileSync(file, String(code));
      this.ctx.log.info({ vmid, exitCode: code }, `proxmox-vm: the process of VM ${vmid} exited with ${code}`);
    }
    return code;
  }

  /** Foreground: create and start, then wait for the guest to power off; the process's exit code. */
  async run(req: CreateRequest, onStarted: (created: Created<VmRef>) => Promise<void>): Promise<ExitCode> {
    const created = await this.create(req);
    const h: Handle<VmRef> = { id: req.id, dir: req.dir, status: "created", pid: 0, ref: created.ref };
    const { pid } = await this.start(h);
    await onStarted({ ref: created.ref, pid });
    const vmid = created.ref.vmid;
    await this.untilPoweredOff(vmid, pid);
    return (await this.recordExit(vmid, req.dir)) ?? KILLED_EXIT_CODE;
  }

  /**
   * Waits for the VM to be off: its QEMU (the host process `pid`) is watched in /proc, which costs
   * nothing, and qm confirms once it has gone. Not `qm status` every second: on a node each one is
   * a Perl start of about half a second of CPU, for as long as the guest runs, and under load that
   * CPU is taken from the guest itself. A QEMU that cannot be seen here is left to qm, less often.
   */
  private async untilPoweredOff(vmid: number, pid: number): Promise<void> {
    const startTime = readProcStat(pid)?.startTime;
    for (;;) {
      if (startTime !== undefined) while (isSameLiveProcess(pid, startTime)) await sleep(POLL_MS);
      if ((await this.status(vmid, "run failed"))["status"] !== "running") return;
      await sleep(QM_POLL_MS);
    }
  }

  /** Through the guest agent (`qm guest exec`): the container's process settings with exec's, as runc merges them. */
  async exec(h: Handle<VmRef>, req: ExecRequest): Promise<ExitCode> {
    refuseExec(req);
    const read = (file: string): ProcessDefaults | undefined => {
      try {
        return JSON.parse(readFileSync(file, "utf8")) as ProcessDefaults;
      } catch {
        return undefined;
      }
    };
    const processFile = req.processFile === undefined ? undefined : read(req.processFile);
    if (req.processFile !== undefined && processFile === undefined) throw new BackendError(`exec failed: cannot read the process file ${req.processFile}`);
    const vmid = this.vmidOf(h);
    const r = await this.agent(vmid).exec(read(join(h.dir, PROCESS)) ?? {}, req, processFile, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
    if (req.detach && req.pidFile !== undefined) writeFileSync(req.pidFile, String(r.pid)); // the guest pid: the only one the process has
    return r.code;
  }

  /** Guest pids of the service's processes (through the guest agent). */
  async ps(h: Handle<VmRef>): Promise<number[]> {
    return this.agent(this.vmidOf(h)).ps();
  }

  /** The guest's ps(1) through the agent: the host's would show other processes under those pid numbers. */
  async psTable(h: Handle<VmRef>, psOptions: readonly string[]): Promise<{ pids: number[]; text: string }> {
    return this.agent(this.vmidOf(h)).psTable(psOptions);
  }

  private agent(vmid: number): GuestAgent {
    return new GuestAgent((args, what) => this.qm(args, what, vmid), vmid);
  }

  protected ownFiles(h: Handle<VmRef>): string[] {
    const snippet: unknown = h.ref.snippet;
    return typeof snippet === "string" ? [snippet] : [];
  }

  protected override paused(status: Record<string, string>): boolean {
    return status["qmpstatus"] === "paused";
  }

  async pause(h: Handle<VmRef>): Promise<void> {
    const vmid = this.vmidOf(h);
    await this.qm(["suspend", String(vmid)], "pause failed", vmid);
  }

  async resume(h: Handle<VmRef>): Promise<void> {
    const vmid = this.vmidOf(h);
    await this.qm(["resume", String(vmid)], "resume failed", vmid);
  }

  protected healthDetails(): { ok: boolean; details: string[] } {
    const s = this.settings;
    const source = s.template !== undefined ? `template VM ${s.template}` : s.image !== undefined ? `image ${s.image}` : "no template or image configured";
    const snippets = existsSync(s.snippetDir);
    return {
      ok: (s.template !== undefined || s.image !== undefined) && snippets,
      details: [`source: ${source}; storage ${s.storage}, bridge ${s.bridge}`, `snippets: ${s.snippetStorage} (${s.snippetDir}${snippets ? "" : " not found"})`],
    };
  }
}

export function createProxmoxVmBackend(ctx: BackendContext): ProxmoxVmBackend {
  return new ProxmoxVmBackend(ctx.config.backends["proxmox-vm"], ctx);
}
