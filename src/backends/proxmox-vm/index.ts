import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../../crash-point.js";
import { BackendError, UnsupportedError } from "../../errors.js";
import type { Signal } from "../../oci/signals.js";
import type { ContainerRecord } from "../../state/record.js";
import type { Backend, BackendContext, Created, CreateRequest, ExecRequest, ExitCode, HealthReport, Probe } from "../backend.js";
import { guestProbe, startedMarker } from "../proxmox/guest-probe.js";
import { toolsPresent, vmidOf } from "../proxmox/guest-ref.js";
import { purgeIntent, readIntent, writeIntent } from "../proxmox/intent.js";
import { parseStatus } from "../proxmox/pve-output.js";
import { withFreeVmid } from "../proxmox/vmid.js";
import { planVm, snippetFileName } from "./plan.js";
import { QmError } from "./qm-errors.js";
import { runQm, type QmTools } from "./qm.js";
import type { ProxmoxVmSettings } from "./settings.js";
import { GuestAgent } from "./guest-agent.js";
import { refuseExec, type ProcessDefaults } from "./guest-exec.js";
import { KILLED_EXIT_CODE } from "./exit-status.js";
import { readExitCode, statusVolume } from "./status-disk.js";

/** Written before anything is made, so a crash can always be cleaned up from the id alone. */
const INTENT = "proxmox-vm.json";
/** Written before `qm start` (see startedMarker). */
const STARTED = "proxmox-vm.started";
/** The process's exit code once known (from the status disk, or SIGKILL's when nexcage stopped the VM). */
const EXIT = "proxmox-vm.exit";
const POLL_MS = 1000;
const MAX_VMID_TRIES = 20;
/** Signals that ask the guest to power off (ACPI / guest agent shutdown). */
const SHUTDOWN_SIGNALS = new Set(["SIGTERM", "SIGINT", "SIGPWR"]);

/**
 * An OCI container as a Proxmox VM: cloned from a template VM or created from a disk image, sized
 * from the bundle, with the bundle's process delivered as a cloud-init user-data snippet that runs
 * it as a systemd service. The container's pid is the host pid of the VM's QEMU process.
 */
export class ProxmoxVmBackend implements Backend {
  readonly name = "proxmox-vm" as const;
  private readonly tools: QmTools;

  constructor(
    private readonly s: ProxmoxVmSettings,
    private readonly ctx: BackendContext,
  ) {
    this.tools = { qm: s.qm, pvesh: s.pvesh, timeoutMs: s.timeoutSeconds * 1000, log: ctx.log };
  }

  private qm(args: readonly string[], what: string, vmid?: number, timeoutMs?: number) {
    return runQm(this.tools, "qm", args, what, { vmid, template: this.s.template }, timeoutMs);
  }

  /** The user-data snippet, written under a temporary name and renamed: Proxmox never reads half of it. */
  private writeSnippet(file: string, content: string): string {
    const target = join(this.s.snippetDir, file);
    const temp = join(this.s.snippetDir, `.${file}.partial`);
    try {
      writeFileSync(temp, content, { mode: 0o644 });
      renameSync(temp, target);
    } catch (e) {
      rmSync(temp, { force: true });
      throw new BackendError(`create failed: cannot write the cloud-init snippet into ${this.s.snippetDir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check backends.proxmox-vm.snippetDir`);
    }
    return target;
  }

  async create(req: CreateRequest): Promise<Created> {
    const plan = planVm({
      id: req.id,
      bundlePath: req.bundle.path,
      spec: req.bundle.spec,
      settings: this.s,
      consoleSocket: req.consoleSocket !== undefined,
      snippetFile: snippetFileName(req.id),
    });
    for (const note of plan.notes) this.ctx.log.warn({ id: req.id }, `proxmox-vm: ${note}`);
    const snippetFile = plan.snippetVolume.slice(plan.snippetVolume.indexOf("/") + 1);
    const snippet = join(this.s.snippetDir, snippetFile);
    writeIntent(req.dir, INTENT, { files: [snippet] });
    crashPoint("proxmox-vm:intent-written");
    this.writeSnippet(snippetFile, plan.userData);
    crashPoint("proxmox-vm:snippet-written");
    const vmid = await withFreeVmid(
      { range: this.s.vmidRange, nextId: () => runQm(this.tools, "pvesh", ["get", "/cluster/nextid"], "create failed") },
      async (candidate) => {
        writeIntent(req.dir, INTENT, { files: [snippet], vmid: candidate });
        crashPoint("proxmox-vm:vmid-chosen");
        await this.qm(plan.commands(candidate)[0]!, "create failed", candidate);
        crashPoint("proxmox-vm:vm-created");
      },
      (e) => {
        const taken = e instanceof QmError && e.kind === "vmid-taken";
        if (taken) this.ctx.log.debug({ id: req.id }, "proxmox-vm: VMID taken, trying another");
        return taken;
      },
      MAX_VMID_TRIES,
    );
    for (const argv of plan.commands(vmid).slice(1)) await this.qm(argv, "create failed", vmid);
    crashPoint("proxmox-vm:vm-configured");
    return { ref: { vmid, snippet, dir: req.dir }, pid: 0 };
  }

  private async status(vmid: number, what: string): Promise<Record<string, string>> {
    return parseStatus(await this.qm(["status", String(vmid), "--verbose"], what, vmid));
  }

  async start(rec: ContainerRecord): Promise<{ pid: number }> {
    return this.boot(vmidOf(rec), startedMarker(rec, STARTED));
  }

  /** `qm start` with the started marker written first (removed if the start fails); the QEMU's host pid. */
  private async boot(vmid: number, marker: string | undefined): Promise<{ pid: number }> {
    if (marker !== undefined) writeFileSync(marker, "");
    try {
      await this.qm(["start", String(vmid)], "start failed", vmid);
    } catch (e) {
      if (marker !== undefined) rmSync(marker, { force: true });
      throw e;
    }
    crashPoint("proxmox-vm:vm-started");
    const status = await this.status(vmid, "start failed");
    const pid = Number(status["pid"]);
    if (status["status"] !== "running" || !Number.isInteger(pid) || pid <= 0) {
      throw new BackendError(`start failed: Proxmox VM ${vmid} did not stay running`);
    }
    return { pid };
  }

  /**
   * SIGTERM, SIGINT and SIGPWR ask the guest to power off (`qm shutdown`); when it has not within
   * shutdownTimeoutSeconds, `qm stop` (if configured). SIGKILL is `qm stop`. A VM has no other
   * signals to give its process, so they are refused. `--all` changes nothing: the VM is one unit.
   */
  async kill(rec: ContainerRecord, signal: Signal, _all: boolean): Promise<void> {
    const vmid = vmidOf(rec);
    // a created container is a stopped VM: nothing runs that a signal could reach, unless a
    // `start` crashed after starting the VM and before recording it
    const running = rec.pid > 0 || (rec.status === "created" && (await this.probe(rec)).status === "running");
    if (!running) throw new BackendError("container not running");
    if (signal.name === "SIGKILL") {
      await this.qm(["stop", String(vmid)], "kill failed", vmid);
      await this.recordExit(vmid, rec.nexcage.ref["dir"], KILLED_EXIT_CODE);
      return;
    }
    if (!SHUTDOWN_SIGNALS.has(signal.name)) {
      throw new UnsupportedError(`proxmox-vm cannot deliver ${signal.name} to a VM: SIGTERM, SIGINT or SIGPWR shut it down, SIGKILL stops it`);
    }
    const t = this.s.shutdownTimeoutSeconds;
    try {
      await this.qm(["shutdown", String(vmid), "--timeout", String(t)], "kill failed", vmid, Math.max(this.tools.timeoutMs, (t + 30) * 1000));
    } catch (e) {
      if (!(e instanceof QmError && e.kind === "shutdown-timeout" && this.s.stopAfterShutdownTimeout)) throw e;
      this.ctx.log.warn({ id: rec.id, vmid }, `proxmox-vm: VM ${vmid} did not power off within ${t}s; stopping it`);
      await this.qm(["stop", String(vmid)], "kill failed", vmid);
      await this.recordExit(vmid, rec.nexcage.ref["dir"], KILLED_EXIT_CODE);
    }
  }

  async delete(rec: ContainerRecord, force: boolean): Promise<void> {
    await this.destroy(vmidOf(rec), force);
    crashPoint("proxmox-vm:vm-destroyed");
    const snippet = rec.nexcage.ref["snippet"];
    if (typeof snippet === "string") rmSync(snippet, { force: true });
  }

  /** `qm destroy` refuses a running VM; with force it is stopped first. A VM that is gone is fine. */
  private async destroy(vmid: number, force: boolean): Promise<void> {
    try {
      if (force) await this.qm(["stop", String(vmid)], "delete failed", vmid);
      await this.qm(["destroy", String(vmid), "--purge"], "delete failed", vmid);
    } catch (e) {
      if (e instanceof QmError && e.kind === "vm-missing") return;
      throw e;
    }
  }

  async purge(id: string, dir: string): Promise<void> {
    await purgeIntent(id, readIntent(dir, INTENT), this.s.confDir, (vmid) => this.destroy(vmid, true));
  }

  async probe(rec: ContainerRecord): Promise<Probe> {
    const vmid = vmidOf(rec);
    let status: Record<string, string>;
    try {
      status = await this.status(vmid, "state failed");
    } catch (e) {
      if (e instanceof QmError && e.kind === "vm-missing") return { status: "stopped", pid: 0 };
      throw e;
    }
    const marker = startedMarker(rec, STARTED);
    if (status["status"] !== "running" && marker !== undefined && existsSync(marker)) await this.recordExit(vmid, rec.nexcage.ref["dir"]);
    return guestProbe(rec, {
      running: status["status"] === "running",
      pid: Number(status["pid"]),
      paused: status["qmpstatus"] === "paused",
      startedBefore: marker !== undefined && existsSync(marker),
    });
  }

  /**
   * The process's exit code, recorded in `<dir>/proxmox-vm.exit` the first time it is known: what
   * the guest wrote on the status disk before powering off, else `fallback` (SIGKILL's when nexcage
   * stopped the VM).
   */
  private async recordExit(vmid: number, dir: unknown, fallback?: number): Promise<number | undefined> {
    const file = typeof dir === "string" ? join(dir, EXIT) : undefined;
    if (file !== undefined && existsSync(file)) return Number(readFileSync(file, "utf8"));
    const volid = statusVolume(await this.qm(["config", String(vmid)], "state failed", vmid));
    const code = (volid === undefined ? undefined : await readExitCode({ pvesm: this.s.pvesm, timeoutMs: this.tools.timeoutMs, log: this.ctx.log }, volid)) ?? fallback;
    if (code !== undefined && file !== undefined) {
      writeFileSync(file, String(code));
      this.ctx.log.info({ vmid, exitCode: code }, `proxmox-vm: the process of VM ${vmid} exited with ${code}`);
    }
    return code;
  }

  /** Foreground: create and start, then wait for the guest to power off; the process's exit code. */
  async run(req: CreateRequest, onStarted: (created: Created) => Promise<void>): Promise<ExitCode> {
    const created = await this.create(req);
    const vmid = created.ref["vmid"] as number;
    const { pid } = await this.boot(vmid, join(req.dir, STARTED));
    await onStarted({ ref: created.ref, pid });
    while ((await this.status(vmid, "run failed"))["status"] === "running") await new Promise((r) => setTimeout(r, POLL_MS));
    return (await this.recordExit(vmid, req.dir)) ?? KILLED_EXIT_CODE;
  }

  /** Through the guest agent (`qm guest exec`): the container's process settings with exec's, as runc merges them. */
  async exec(rec: ContainerRecord, req: ExecRequest): Promise<ExitCode> {
    refuseExec(req);
    const processOf = (file: string, key?: string): ProcessDefaults | undefined => {
      try {
        const doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
        return (key === undefined ? doc : doc[key]) as ProcessDefaults | undefined;
      } catch {
        return undefined;
      }
    };
    const container = processOf(join(rec.bundle, "config.json"), "process") ?? {};
    const processFile = req.processFile === undefined ? undefined : processOf(req.processFile);
    if (req.processFile !== undefined && processFile === undefined) throw new BackendError(`exec failed: cannot read the process file ${req.processFile}`);
    const vmid = vmidOf(rec);
    const r = await this.agent(vmid).exec(container, req, processFile, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
    if (req.detach && req.pidFile !== undefined) writeFileSync(req.pidFile, String(r.pid)); // the guest pid: the only one the process has
    return r.code;
  }

  /** Guest pids of the service's processes (through the guest agent). */
  async ps(rec: ContainerRecord): Promise<number[]> {
    return this.agent(vmidOf(rec)).ps();
  }

  private agent(vmid: number): GuestAgent {
    return new GuestAgent((args, what) => this.qm(args, what, vmid), vmid);
  }

  async pause(rec: ContainerRecord): Promise<void> {
    const vmid = vmidOf(rec);
    await this.qm(["suspend", String(vmid)], "pause failed", vmid);
  }

  async resume(rec: ContainerRecord): Promise<void> {
    const vmid = vmidOf(rec);
    await this.qm(["resume", String(vmid)], "resume failed", vmid);
  }

  async health(): Promise<HealthReport> {
    const tools = toolsPresent([["qm", this.s.qm], ["pvesh", this.s.pvesh]]);
    const details = tools.details;
    let ok = tools.ok;
    const source = this.s.template !== undefined ? `template VM ${this.s.template}` : this.s.image !== undefined ? `image ${this.s.image}` : "no template or image configured";
    if (this.s.template === undefined && this.s.image === undefined) ok = false;
    const snippets = existsSync(this.s.snippetDir);
    ok &&= snippets;
    details.push(`source: ${source}; storage ${this.s.storage}, bridge ${this.s.bridge}`);
    details.push(`snippets: ${this.s.snippetStorage} (${this.s.snippetDir}${snippets ? "" : " not found"})`);
    return { backend: this.name, ok, details };
  }
}

export function createProxmoxVmBackend(ctx: BackendContext): Backend {
  return new ProxmoxVmBackend(ctx.config.backends["proxmox-vm"], ctx);
}
