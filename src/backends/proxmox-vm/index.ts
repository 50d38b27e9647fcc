import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../../crash-point.js";
import { BackendError, NotRunningError, UnsupportedError } from "../../errors.js";
import type { Signal } from "../../oci/signals.js";
import type { BackendContext, CreateRequest, Handle } from "../contract.js";
import { GuestBackend, type GuestCreateJob, type GuestRef } from "../proxmox/guest-backend.js";
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
    }
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
