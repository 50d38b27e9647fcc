import { readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../../crash-point.js";
import { BackendError, NotRunningError } from "../../errors.js";
import type { Signal } from "../../oci/signals.js";
import { isSameLiveProcess, readProcStat } from "../../proc/stat.js";
import type { BackendContext, CreateRequest, Handle } from "../contract.js";
import { GuestBackend, type GuestCreateJob, type GuestRef } from "../proxmox/guest-backend.js";
import { appendRawLines } from "./conf-file.js";
import { PctError } from "./pct-errors.js";
import { runPve } from "./pct.js";
import { planContainer } from "./plan.js";
import { packRootfs, partialArchive, templateFileName } from "./rootfs.js";
import type { ProxmoxLxcSettings } from "./settings.js";

/** The CT's VMID, the template it was made from, and the archive packed from the bundle (removed with the CT). */
export interface LxcRef extends GuestRef {
  readonly template: string;
  readonly archive?: string;
}

/**
 * An OCI container as a Proxmox CT: the bundle's rootfs becomes a template archive, `pct create`
 * makes the CT from it with options from the pure plan, raw lxc lines go into its config under
 * Proxmox's lock. Signals go from the host to the CT init's host pid. The lifecycle's shape
 * (intent, VMID, started marker, status, destroy) is GuestBackend's.
 */
export class ProxmoxLxcBackend extends GuestBackend<LxcRef> {
  readonly name = "proxmox-lxc" as const;

  constructor(
    private readonly settings: ProxmoxLxcSettings,
    ctx: BackendContext,
  ) {
    const tools = { pct: settings.pct, pvesh: settings.pvesh, timeoutMs: settings.timeoutSeconds * 1000, log: ctx.log };
    super(
      {
        backend: "proxmox-lxc",
        guest: "ct",
        crashPoints: {
          "intent-written": () => crashPoint("proxmox-lxc:intent-written"),
          "vmid-chosen": () => crashPoint("proxmox-lxc:vmid-chosen"),
          created: () => crashPoint("proxmox-lxc:ct-created"),
          started: () => crashPoint("proxmox-lxc:ct-started"),
          destroyed: () => crashPoint("proxmox-lxc:ct-destroyed"),
        },
        paths: [["pct", settings.pct], ["pvesh", settings.pvesh]],
        confDir: settings.confDir,
        vmidRange: settings.vmidRange,
        run: (args, what, vmid) => runPve(tools, "pct", args, what, vmid),
        nextId: () => runPve(tools, "pvesh", ["get", "/cluster/nextid"], "create failed"),
        isTaken: (e) => e instanceof PctError && e.kind === "vmid-taken",
        isMissing: (e) => e instanceof PctError && e.kind === "ct-missing",
        destroyCommands: (vmid, force) => [["destroy", String(vmid), "--purge", ...(force ? ["--force"] : [])]],
      },
      ctx,
    );
  }

  private get timeoutMs(): number {
    return this.settings.timeoutSeconds * 1000;
  }

  protected async prepare(req: CreateRequest): Promise<GuestCreateJob<LxcRef>> {
    const s = this.settings;
    const plan = planContainer({
      id: req.id,
      bundlePath: req.bundle.path,
      spec: req.bundle.spec,
      settings: s,
      isDirectory: (p) => {
        try {
          return statSync(p).isDirectory();
        } catch {
          return false;
        }
      },
      consoleSocket: req.consoleSocket !== undefined,
      imageMappedByProxmox: req.volume?.oci === true,
    });
    for (const note of plan.notes) this.ctx.log.warn({ id: req.id }, `proxmox-lxc: ${note}`);
    let files: string[] = [];
    let template: string;
    let archive: string | undefined;
    if (req.volume !== undefined) {
      // a Proxmox template or OCI archive (create --image): pct extracts it; nothing of ours to pack or remove later
      template = req.volume.volid;
    } else {
      const fileName = templateFileName(req.id);
      archive = join(s.templateDir, fileName);
      files = [archive];
      this.intend(req.dir, files);
      await packRootfs(req.bundle.rootfs, s.templateDir, fileName, this.timeoutMs);
      crashPoint("proxmox-lxc:template-packed");
      template = `${s.templateStorage}:vztmpl/${fileName}`;
    }
    return {
      files,
      makeArgs: (vmid) => ["create", String(vmid), template, ...plan.createOptions],
      finish: (vmid) => appendRawLines(join(s.confDir, `${vmid}.conf`), join(s.lockDir, `pve-config-${vmid}.lock`), plan.lxcLines, this.timeoutMs),
      ref: (vmid) => ({ vmid, template, ...(archive !== undefined ? { archive } : {}) }),
    };
  }

  async kill(h: Handle<LxcRef>, signal: Signal, all: boolean): Promise<void> {
    let pid = h.pid;
    let start = h.pidStartTime;
    if (pid <= 0 && h.status === "created") {
      // started by a `start` that crashed before recording the init: Proxmox knows its pid
      pid = (await this.probe(h)).pid;
      start = pid > 0 ? readProcStat(pid)?.startTime : undefined;
    }
    if (pid <= 0 || start === undefined || !isSameLiveProcess(pid, start)) throw new NotRunningError();
    const targets = all ? processesInPidNamespaceOf(pid) : [pid];
    for (const pid of targets) {
      try {
        process.kill(pid, signal.number);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw new BackendError(`kill failed: ${(e as Error).message}`);
      }
    }
  }

  protected ownFiles(h: Handle<LxcRef>): string[] {
    const archive: unknown = h.ref.archive;
    return typeof archive === "string" ? [archive] : [];
  }

  /** A crash while tar ran leaves its output under the temporary name. */
  protected override purgeFiles(files: readonly string[]): void {
    for (const f of files) rmSync(partialArchive(f), { force: true });
  }

  protected healthDetails(): { ok: boolean; details: string[] } {
    const s = this.settings;
    return { ok: true, details: [`storage ${s.storage}, templates ${s.templateStorage} (${s.templateDir}), bridge ${s.bridge}`] };
  }
}

/** Host pids sharing the pid namespace of `init` (every process of the CT). */
function processesInPidNamespaceOf(init: number): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${init}/ns/pid`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === ns && readProcStat(Number(name))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function createProxmoxLxcBackend(ctx: BackendContext): ProxmoxLxcBackend {
  return new ProxmoxLxcBackend(ctx.config.backends["proxmox-lxc"], ctx);
}
