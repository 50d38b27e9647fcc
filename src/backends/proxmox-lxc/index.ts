import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../../crash-point.js";
import { BackendError } from "../../errors.js";
import type { Signal } from "../../oci/signals.js";
import { isSameLiveProcess, readProcStat } from "../../proc/stat.js";
import type { ContainerRecord } from "../../state/record.js";
import type { Backend, BackendContext, Created, CreateRequest, ExecRequest, ExitCode, HealthReport, Probe } from "../backend.js";
import { execInCt } from "./attach/exec.js";
import { findCtInit } from "./attach/attached.js";
import * as attach from "./attach/lifecycle.js";
import { hostFileFacts, checkExecutable } from "./executable.js";
import { processesInPidNamespaceOf } from "./pid-namespace.js";
import { parsePlanSpec } from "../proxmox/plan-spec.js";
import { resourceOptions, updateResources } from "./resources.js";
import { appendRawLines } from "./conf-file.js";
import { PctError } from "./pct-errors.js";
import { guestProbe, startMarked, startedMarker } from "../proxmox/guest-probe.js";
import { toolsPresent, vmidOf } from "../proxmox/guest-ref.js";
import { purgeIntent, readIntent, writeIntent } from "../proxmox/intent.js";
import { withFreeVmid } from "../proxmox/vmid.js";
import { parseStatus, runPve, type PveTools } from "./pct.js";
import { configIsFor, planContainer } from "./plan.js";
import { packRootfs, partialArchive, templateFileName } from "./rootfs.js";
import type { ProxmoxLxcSettings } from "./settings.js";

/** Written before `pct create`, so a crash can always be cleaned up from the id alone. */
const INTENT = "proxmox-lxc.json";
/**
 * Written before `pct start` (removed if it fails): a CT that is not running while its record still
 * says `created` ran and stopped, after a start that crashed before it could record the init.
 */
const STARTED = "proxmox-lxc.started";
/** Retries of `pvesh get /cluster/nextid` when parallel creates took its answer first (a vmidRange is tried in full). */
const MAX_VMID_TRIES = 20;

/**
 * An OCI container as a Proxmox CT: the bundle's rootfs becomes a template archive, `pct create`
 * makes the CT from it with options from the pure plan, raw lxc lines go into its config under
 * Proxmox's lock. Signals go from the host to the CT init's host pid.
 */
export class ProxmoxLxcBackend implements Backend {
  readonly name = "proxmox-lxc" as const;
  private readonly tools: PveTools;

  constructor(
    private readonly s: ProxmoxLxcSettings,
    private readonly ctx: BackendContext,
  ) {
    this.tools = { pct: s.pct, pvesh: s.pvesh, timeoutMs: s.timeoutSeconds * 1000, log: ctx.log };
  }

  private pct(args: readonly string[], what: string, vmid?: number) {
    return runPve(this.tools, "pct", args, what, vmid);
  }

  async create(req: CreateRequest): Promise<Created> {
    const plan = planContainer({
      id: req.id,
      bundlePath: req.bundle.path,
      spec: req.bundle.spec,
      settings: this.s,
      isDirectory: (p) => {
        try {
          return statSync(p).isDirectory();
        } catch {
          return false;
        }
      },
      consoleSocket: req.consoleSocket !== undefined,
      imageMappedByProxmox: req.template?.oci === true,
      attached: attach.isAttached(req),
    });
    if (req.template === undefined) {
      const p = parsePlanSpec(req.bundle.spec).process;
      checkExecutable(req.bundle.rootfs, p.args[0]!, p.cwd, p.env ?? [], hostFileFacts);
    }
    for (const note of plan.notes) this.ctx.log.warn({ id: req.id }, `proxmox-lxc: ${note}`);
    let files: string[] = [];
    let template: string;
    let archive: string | undefined;
    if (req.template !== undefined) {
      // a Proxmox template or OCI archive (create --image): pct extracts it; nothing of ours to pack or remove later
      template = req.template.volid;
    } else {
      const fileName = templateFileName(req.id);
      archive = join(this.s.templateDir, fileName);
      files = [archive];
      writeIntent(req.dir, INTENT, { files });
      crashPoint("proxmox-lxc:intent-written");
      await packRootfs(req.bundle.rootfs, this.s.templateDir, fileName, this.tools.timeoutMs);
      crashPoint("proxmox-lxc:template-packed");
      template = `${this.s.templateStorage}:vztmpl/${fileName}`;
    }
    const vmid = await withFreeVmid(
      { range: this.s.vmidRange, nextId: () => runPve(this.tools, "pvesh", ["get", "/cluster/nextid"], "create failed") },
      async (candidate) => {
        writeIntent(req.dir, INTENT, { files, vmid: candidate });
        crashPoint("proxmox-lxc:vmid-chosen");
        await this.pct(["create", String(candidate), template, ...plan.createOptions], "create failed", candidate);
        crashPoint("proxmox-lxc:ct-created");
      },
      (e) => {
        const taken = e instanceof PctError && e.kind === "vmid-taken";
        if (taken) this.ctx.log.debug({ id: req.id }, "proxmox-lxc: VMID taken, trying another");
        return taken;
      },
      MAX_VMID_TRIES,
    );
    const attachLines = attach.isAttached(req) ? attach.beginAttach(this.s, req, vmid) : [];
    await appendRawLines(join(this.s.confDir, `${vmid}.conf`), join(this.s.lockDir, `pve-config-${vmid}.lock`), [...plan.lxcLines, ...attachLines], this.tools.timeoutMs);
    if (attach.isAttached(req)) await attach.launchAttached(this.s, req);
    return { ref: { vmid, template, ...(archive !== undefined ? { archive } : {}), dir: req.dir }, pid: 0 };
  }

  async start(rec: ContainerRecord): Promise<{ pid: number }> {
    const vmid = vmidOf(rec);
    await startMarked(rec, STARTED, () => this.pct(["start", String(vmid)], "start failed", vmid));
    crashPoint("proxmox-lxc:ct-started");
    const status = parseStatus(await this.pct(["status", String(vmid), "--verbose"], "start failed", vmid));
    const pid = Number(status["pid"]);
    const attached = attach.attachOf(rec) !== undefined;
    if (status["status"] !== "running" || !Number.isInteger(pid) || pid <= 0) {
      // attached, a process that has already exited has told its proxy how
      if (attached) return { pid: 0 };
      throw new BackendError(`start failed: Proxmox CT ${vmid} did not stay running`);
    }
    return { pid: attached ? await attach.attachedProcess(pid) : pid };
  }

  async kill(rec: ContainerRecord, signal: Signal, all: boolean): Promise<void> {
    const attached = attach.attachOf(rec);
    if (attached !== undefined && rec.status !== "created") return attach.killAttached(rec, signal, all);
    if (attached !== undefined && (await this.probe(rec)).status === "created") return attach.killCreated(attached, signal);
    let pid = rec.pid;
    let start = rec.nexcage.pidStartTime;
    if (pid <= 0 && rec.status === "created") {
      // started by a `start` that crashed before recording the init: Proxmox knows its pid
      pid = (await this.probe(rec)).pid;
      start = pid > 0 ? readProcStat(pid)?.startTime : undefined;
    }
    if (pid <= 0 || start === undefined || !isSameLiveProcess(pid, start)) throw new BackendError("container not running");
    const targets = all ? processesInPidNamespaceOf(pid) : [pid];
    for (const pid of targets) {
      try {
        process.kill(pid, signal.number);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw new BackendError(`kill failed: ${(e as Error).message}`);
      }
    }
  }

  async delete(rec: ContainerRecord, force: boolean): Promise<void> {
    const vmid = vmidOf(rec);
    await attach.thawIfPaused(rec);
    // once our CT is gone its VMID may be another guest's: only the CT made for this id is destroyed
    if (ctIsFor(join(this.s.confDir, `${vmid}.conf`), rec.id)) await this.destroy(vmid, force);
    crashPoint("proxmox-lxc:ct-destroyed");
    attach.endAttach(attach.containerDir(rec));
    const archive = rec.nexcage.ref["archive"];
    if (typeof archive === "string") rmSync(archive, { force: true });
  }

  private async destroy(vmid: number, force: boolean): Promise<void> {
    try {
      await this.pct(["destroy", String(vmid), "--purge", ...(force ? ["--force"] : [])], "delete failed", vmid);
    } catch (e) {
      if (e instanceof PctError && e.kind === "ct-missing") return;
      throw e;
    }
  }

  async purge(id: string, dir: string): Promise<void> {
    const intent = readIntent(dir, INTENT);
    await purgeIntent(id, intent, this.s.confDir, (vmid) => this.destroy(vmid, true));
    // a crash while tar ran leaves its output under the temporary name
    for (const f of intent.files ?? []) rmSync(partialArchive(f), { force: true });
    attach.endAttach(dir);
  }

  async probe(rec: ContainerRecord): Promise<Probe> {
    const vmid = vmidOf(rec);
    let status: Record<string, string>;
    try {
      status = parseStatus(await this.pct(["status", String(vmid), "--verbose"], "state failed", vmid));
    } catch (e) {
      if (e instanceof PctError && e.kind === "ct-missing") return { status: "stopped", pid: 0 };
      throw e;
    }
    const marker = startedMarker(rec, STARTED);
    const facts = { running: status["status"] === "running", pid: Number(status["pid"]), startedBefore: marker !== undefined && existsSync(marker) };
    const attached = attach.attachOf(rec);
    if (attached !== undefined) return attach.attachedProbe(rec, attached, facts.running, facts.pid, facts.startedBefore);
    return guestProbe(rec, facts);
  }

  /** `pct exec`, with the caller's stdio (or a pty for -t) and its exit status. */
  async exec(rec: ContainerRecord, req: ExecRequest): Promise<ExitCode> {
    return execInCt(this.s.pct, vmidOf(rec), attach.attachOf(rec) !== undefined, req.consoleSocket !== undefined ? findCtInit(this.s.ctInit) : undefined, req);
  }

  async ps(rec: ContainerRecord): Promise<number[]> {
    return attach.attachOf(rec) !== undefined ? attach.attachedPids(rec) : processesInPidNamespaceOf(rec.pid);
  }

  async pause(rec: ContainerRecord): Promise<void> {
    await attach.freezeCt(rec, true);
  }

  async resume(rec: ContainerRecord): Promise<void> {
    await attach.freezeCt(rec, false);
  }

  /** `update`: memory and CPU limits through `pct set`, which Proxmox applies live to a running CT. */
  async update(rec: ContainerRecord, flags: readonly string[]): Promise<void> {
    const notes: string[] = [];
    const opts = resourceOptions(updateResources(flags, (src) => readFileSync(src === "-" ? "/dev/stdin" : src, "utf8"), notes), notes);
    for (const note of notes) this.ctx.log.warn({ id: rec.id }, `proxmox-lxc: ${note}`);
    if (opts.length > 0) await this.pct(["set", String(vmidOf(rec)), ...opts], "update failed", vmidOf(rec));
  }

  async health(): Promise<HealthReport> {
    const tools = toolsPresent([["pct", this.s.pct], ["pvesh", this.s.pvesh]]);
    const details = tools.details;
    const ok = tools.ok;
    details.push(`storage ${this.s.storage}, templates ${this.s.templateStorage} (${this.s.templateDir}), bridge ${this.s.bridge}`);
    return { backend: this.name, ok, details };
  }
}

/** Whether the CT config at `conf` exists and was made for the OCI id. */
function ctIsFor(conf: string, id: string): boolean {
  try {
    return configIsFor(readFileSync(conf, "utf8"), id);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

export function createProxmoxLxcBackend(ctx: BackendContext): Backend {
  const s = ctx.config.backends["proxmox-lxc"];
  return new ProxmoxLxcBackend(s, ctx);
}
