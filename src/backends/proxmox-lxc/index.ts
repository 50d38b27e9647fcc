import { totalmem } from "node:os";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../../crash-point.js";
import { BackendError, NotRunningError, StatusError, UnsupportedError } from "../../errors.js";
import type { Signal } from "../../oci/signals.js";
import { isSameLiveProcess, readProcStat } from "../../proc/stat.js";
import type { BackendContext, CreateRequest, ExecRequest, ExitCode, Handle, MemberPlacement, Probe } from "../contract.js";
import { GuestBackend, type GuestCreateJob } from "../proxmox/guest-backend.js";
import type { GuestStatus } from "../proxmox/guest-probe.js";
import { parsePlanSpec } from "../proxmox/plan-spec.js";
import { findCtInit, setSysctls, type AttachRecord } from "./attach/attached.js";
import { execInCt } from "./attach/exec.js";
import * as attach from "./attach/lifecycle.js";
import { appendRawLines } from "./conf-file.js";
import { checkExecutable, hostFileFacts } from "./executable.js";
import { PctError } from "./pct-errors.js";
import { runPve } from "./pct.js";
import { processesInPidNamespaceOf } from "./pid-namespace.js";
import { planContainer } from "./plan.js";
import { ctCgroup } from "./pod.js";
import type { LxcRef } from "./ref.js";
import { resourceOptions, updateResources } from "./resources.js";
import { packRootfs, partialArchive, templateFileName } from "./rootfs.js";
import type { ProxmoxLxcSettings } from "./settings.js";

export type { LxcRef } from "./ref.js";

/**
 * An OCI container as a Proxmox CT: the bundle's rootfs becomes a template archive, `pct create`
 * makes the CT from it with options from the pure plan, raw lxc lines go into its config under
 * Proxmox's lock. Signals go from the host to the CT init's host pid. The lifecycle's shape
 * (intent, VMID, started marker, status, destroy) is GuestBackend's. A create with --pid-file or
 * --console-socket (containerd's shim) is attached: attach/ adds its part to each step.
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
    const attached = attach.isAttached(req);
    const plan = planContainer({
      id: req.id,
      bundlePath: req.bundle.path,
      spec: req.bundle.spec,
      settings: s,
      unifiedCgroup: unifiedCgroupHost(),
      hostMemoryMiB: Math.floor(totalmem() / 1024 / 1024),
      isDirectory: (p) => {
        try {
          return statSync(p).isDirectory();
        } catch {
          return false;
        }
      },
      consoleSocket: req.consoleSocket !== undefined,
      imageMappedByProxmox: req.volume?.oci === true,
      attached,
    });
    if (req.volume === undefined) {
      const p = parsePlanSpec(req.bundle.spec).process;
      checkExecutable(req.bundle.rootfs, p.args[0]!, p.cwd, p.env ?? [], hostFileFacts);
    }
    for (const note of plan.notes) this.ctx.log.warn({ id: req.id }, `proxmox-lxc: ${note}`);
    let files: string[] = [];
    let template: string;
    let archive: string | undefined;
    let attachRecord: AttachRecord | undefined;
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
      finish: async (vmid) => {
        const attachLines = attached ? attach.beginAttach(s, req, vmid) : [];
        await appendRawLines(join(s.confDir, `${vmid}.conf`), join(s.lockDir, `pve-config-${vmid}.lock`), [...plan.lxcLines, ...attachLines], this.timeoutMs);
        const netns = plan.joins.find((j) => j.type === "network")?.path;
        if (netns !== undefined) await setSysctls(plan.nsSysctls, "net", netns, this.timeoutMs);
        if (attached) attachRecord = await attach.launchAttached(s, req, plan);
      },
      ref: (vmid) => ({ vmid, template, ...(archive !== undefined ? { archive } : {}), ...(attachRecord !== undefined ? { attach: attachRecord } : {}) }),
    };
  }

  /** Attached, a process that has already exited has told its proxy how; the container's process is the helper's child. */
  protected override async startedPid(h: Handle<LxcRef>, running: boolean, pid: number): Promise<number> {
    const a = attach.attachOf(h);
    if (a === undefined) return super.startedPid(h, running, pid);
    if (!running || !Number.isInteger(pid) || pid <= 0) return 0;
    // the CT's own IPC namespace (its init's), before the pod's containers join it
    if (a.sysctls !== undefined) await setSysctls(a.sysctls, "ipc", `/proc/${pid}/ns/ipc`, this.timeoutMs);
    return attach.attachedProcess(pid);
  }

  async kill(h: Handle<LxcRef>, signal: Signal, all: boolean): Promise<void> {
    const attached = attach.attachOf(h);
    if (attached !== undefined && h.status !== "created") return attach.killAttached(h, signal, all);
    if (attached !== undefined && (await this.probe(h)).status === "created") return attach.killCreated(attached, signal);
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

  override async delete(h: Handle<LxcRef>, force: boolean): Promise<void> {
    await attach.thawIfPaused(h);
    await super.delete(h, force);
    attach.endAttach(h.dir);
  }

  override async purge(id: string, dir: string): Promise<void> {
    await super.purge(id, dir);
    attach.endAttach(dir);
  }

  protected override liveProbe(h: Handle<LxcRef>, g: GuestStatus): Probe {
    const a = attach.attachOf(h);
    return a !== undefined ? attach.attachedProbe(h, a, g.running, g.pid, g.startedBefore === true) : super.liveProbe(h, g);
  }

  /**
   * A pod's members (crun containers of the host): in the namespaces of the sandbox's process (the
   * helper's child, which joined the pod's network) and under the CT's cgroup.
   */
  async memberPlacement(h: Handle<LxcRef>): Promise<MemberPlacement> {
    const a = attach.attachOf(h);
    if (a?.proxy === undefined) throw new UnsupportedError(`pod sandbox ${h.id} is a Proxmox CT created without --pid-file: it cannot hold the pod's containers`);
    const live = await this.probe(h);
    if (live.status !== "running" || live.pid !== h.pid || h.pid <= 0) throw new StatusError(`pod sandbox ${h.id} is not running`);
    const vmid = this.vmidOf(h);
    let text = "";
    try {
      text = readFileSync(`/proc/${h.pid}/cgroup`, "utf8");
    } catch {
      throw new StatusError(`pod sandbox ${h.id} is not running`);
    }
    const cgroupParent = ctCgroup(text, vmid);
    if (cgroupParent === undefined) throw new BackendError(`pod sandbox ${h.id}: no cgroup of Proxmox CT ${vmid} in /proc/${h.pid}/cgroup`);
    return { pidFilePid: a.proxy.pid, pid: h.pid, cgroupParent, note: { vmid } };
  }

  /** `pct exec`, with the caller's stdio (or a pty for -t) and its exit status. */
  async exec(h: Handle<LxcRef>, req: ExecRequest): Promise<ExitCode> {
    const vmid = this.vmidOf(h);
    return execInCt(this.settings.pct, vmid, attach.attachOf(h) !== undefined, req.consoleSocket !== undefined ? findCtInit(this.settings.ctInit) : undefined, req);
  }

  async ps(h: Handle<LxcRef>): Promise<number[]> {
    return attach.attachOf(h) !== undefined ? attach.attachedPids(h) : processesInPidNamespaceOf(h.pid);
  }

  async pause(h: Handle<LxcRef>): Promise<void> {
    await attach.freezeCt(h, true);
  }

  async resume(h: Handle<LxcRef>): Promise<void> {
    await attach.freezeCt(h, false);
  }

  /** `update`: memory and CPU limits through `pct set`, which Proxmox applies live to a running CT. */
  async update(h: Handle<LxcRef>, flags: readonly string[]): Promise<void> {
    const notes: string[] = [];
    const opts = resourceOptions(updateResources(flags, (src) => readFileSync(src === "-" ? "/dev/stdin" : src, "utf8"), notes), notes);
    for (const note of notes) this.ctx.log.warn({ id: h.id }, `proxmox-lxc: ${note}`);
    const vmid = this.vmidOf(h);
    if (opts.length > 0) await this.tool.run(["set", String(vmid), ...opts], "update failed", vmid);
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

/** Whether /sys/fs/cgroup is the cgroup v2 hierarchy itself (no v1 controllers mounted). */
function unifiedCgroupHost(): boolean {
  try {
    return readFileSync("/proc/self/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === "/sys/fs/cgroup" && l.split(" ")[2] === "cgroup2");
  } catch {
    return false;
  }
}

export function createProxmoxLxcBackend(ctx: BackendContext): ProxmoxLxcBackend {
  return new ProxmoxLxcBackend(ctx.config.backends["proxmox-lxc"], ctx);
}
