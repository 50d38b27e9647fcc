import { existsSync, rmSync } from "node:fs";
import { BackendError } from "../../errors.js";
import type { BackendName } from "../../names.js";
import type { Signal } from "../../oci/signals.js";
import type { Backend, BackendContext, Created, CreateRequest, Handle, HealthReport, Probe } from "../contract.js";
import { guestProbe, startMarked, startedMarker, type GuestStatus } from "./guest-probe.js";
import { guestIsFor, purgeIntent, readIntent, writeIntent } from "./intent.js";
import { parseStatus } from "./pve-output.js";
import { withFreeVmid } from "./vmid.js";

/** What both Proxmox backends keep in the record: the guest's VMID (plus their own files). */
export interface GuestRef {
  readonly vmid: number;
}

/** The tool-specific part of a create, prepared before a VMID is chosen. */
export interface GuestCreateJob<Ref extends GuestRef> {
  /** Files on the node the create writes (kept in the intent file for a crash's cleanup). */
  readonly files: readonly string[];
  /** argv of the tool call that makes the guest with this VMID (the call that may find it taken). */
  readonly makeArgs: (vmid: number) => readonly string[];
  /** What follows once the guest exists (config lines, further qm set calls). */
  readonly finish: (vmid: number) => Promise<void>;
  readonly ref: (vmid: number) => Ref;
}

/** The steps of the shared lifecycle where the crash tests kill nexcage (src/crash-point.ts). */
export type GuestStep = "intent-written" | "vmid-chosen" | "created" | "started" | "destroyed";

/** How one Proxmox tool (pct, qm) differs from the other; the rest of a guest's lifecycle is shared. */
export interface GuestTool {
  readonly backend: BackendName;
  /** The guest word in messages: "ct" → "Proxmox CT 101". */
  readonly guest: "ct" | "vm";
  /** Each shared step's crash point, named literally (each point is placed once in src/). */
  readonly crashPoints: Readonly<Record<GuestStep, () => void>>;
  /** The tool's and pvesh's paths, for health. */
  readonly paths: ReadonlyArray<readonly [string, string]>;
  /** Where Proxmox keeps the guests' configs (a guest is destroyed by purge only if its config names the id). */
  readonly confDir: string;
  readonly vmidRange?: { readonly min: number; readonly max: number };
  /** Runs the guest tool (pct, qm) with an argv; a failure is the tool's typed error. */
  run(args: readonly string[], what: string, vmid?: number, timeoutMs?: number): Promise<string>;
  /** Runs `pvesh get /cluster/nextid`. */
  nextId(): Promise<string>;
  /** The typed error says the VMID is someone else's already / the guest does not exist. */
  isTaken(e: unknown): boolean;
  isMissing(e: unknown): boolean;
  /** argv of the calls that remove a guest (with force, also a running one). */
  destroyCommands(vmid: number, force: boolean): ReadonlyArray<readonly string[]>;
}

/** Retries of `pvesh get /cluster/nextid` when parallel creates took its answer first (a vmidRange is tried in full). */
const MAX_VMID_TRIES = 20;

/**
 * The create / start / probe / destroy / purge shape both Proxmox backends share: an intent file
 * in <root>/<id>/ before anything is made, a VMID tried until one is free, a started marker before
 * the start, the status from `<tool> status --verbose`. A backend supplies its GuestTool, its
 * create job (plan → files and commands) and what differs in kill.
 */
export abstract class GuestBackend<Ref extends GuestRef> implements Backend<Ref> {
  abstract readonly name: BackendName;
  /** `<root>/<id>/<name>.json`: what a create is about to make. */
  private readonly intentFile: string;
  /** `<root>/<id>/<name>.started`, written before the start (see startedMarker). */
  private readonly startedFile: string;

  constructor(
    protected readonly tool: GuestTool,
    protected readonly ctx: BackendContext,
  ) {
    this.intentFile = `${tool.backend}.json`;
    this.startedFile = `${tool.backend}.started`;
  }

  private point(step: GuestStep): void {
    this.tool.crashPoints[step]();
  }

  /** The VMID stored at create. */
  protected vmidOf(h: Handle<Ref>): number {
    const v: unknown = h.ref.vmid;
    if (typeof v !== "number") throw new BackendError(`state of container ${h.id} has no VMID`);
    return v;
  }

  /** Records the files a create is about to write, before it writes them. */
  protected intend(dir: string, files: readonly string[]): void {
    writeIntent(dir, this.intentFile, { files: [...files] });
    this.point("intent-written");
  }

  /** The tool-specific half of create: plan, files written before the VMID, the make command. */
  protected abstract prepare(req: CreateRequest): Promise<GuestCreateJob<Ref>>;

  async create(req: CreateRequest): Promise<Created<Ref>> {
    const job = await this.prepare(req);
    const vmid = await withFreeVmid(
      { range: this.tool.vmidRange, nextId: () => this.tool.nextId() },
      async (candidate) => {
        writeIntent(req.dir, this.intentFile, { files: [...job.files], vmid: candidate });
        this.point("vmid-chosen");
        await this.tool.run(job.makeArgs(candidate), "create failed", candidate);
        this.point("created");
      },
      (e) => {
        const taken = this.tool.isTaken(e);
        if (taken) this.ctx.log.debug({ id: req.id }, `${this.tool.backend}: VMID taken, trying another`);
        return taken;
      },
      MAX_VMID_TRIES,
    );
    await job.finish(vmid);
    return { ref: job.ref(vmid), pid: 0 };
  }

  protected async status(vmid: number, what: string): Promise<Record<string, string>> {
    return parseStatus(await this.tool.run(["status", String(vmid), "--verbose"], what, vmid));
  }

  async start(h: Handle<Ref>): Promise<{ pid: number }> {
    const vmid = this.vmidOf(h);
    await startMarked(h, this.startedFile, () => this.tool.run(["start", String(vmid)], "start failed", vmid));
    this.point("started");
    const status = await this.status(vmid, "start failed");
    return { pid: await this.startedPid(h, status["status"] === "running", Number(status["pid"])) };
  }

  /** The pid start records, from the guest's status after the start (default: the guest's init, which must be running). */
  protected async startedPid(h: Handle<Ref>, running: boolean, pid: number): Promise<number> {
    if (!running || !Number.isInteger(pid) || pid <= 0) {
      throw new BackendError(`start failed: Proxmox ${this.tool.guest.toUpperCase()} ${this.vmidOf(h)} did not stay running`);
    }
    return pid;
  }

  abstract kill(h: Handle<Ref>, signal: Signal, all: boolean): Promise<void>;

  /** Files of this guest's own on the node (template archive, snippet) that delete removes after the guest. */
  protected abstract ownFiles(h: Handle<Ref>): string[];

  async delete(h: Handle<Ref>, force: boolean): Promise<void> {
    const vmid = this.vmidOf(h);
    // once our guest is gone its VMID may be another guest's: only the guest made for this id is destroyed
    if (guestIsFor(this.tool.confDir, vmid, h.id)) await this.destroy(vmid, force);
    this.point("destroyed");
    for (const f of this.ownFiles(h)) rmSync(f, { force: true });
  }

  /** Removes the guest; one that is gone already is fine. */
  protected async destroy(vmid: number, force: boolean): Promise<void> {
    try {
      for (const argv of this.tool.destroyCommands(vmid, force)) await this.tool.run(argv, "delete failed", vmid);
    } catch (e) {
      if (this.tool.isMissing(e)) return;
      throw e;
    }
  }

  async purge(id: string, dir: string): Promise<void> {
    const intent = readIntent(dir, this.intentFile);
    await purgeIntent(id, intent, this.tool.confDir, (vmid) => this.destroy(vmid, true));
    this.purgeFiles(intent.files ?? []);
  }

  /** More to clear after a crashed create, from the files its intent named (default: nothing). */
  protected purgeFiles(_files: readonly string[]): void {}

  /** Whether the guest's vCPUs are paused, from its status; undefined: the recorded status decides. */
  protected paused(_status: Record<string, string>): boolean | undefined {
    return undefined;
  }

  async probe(h: Handle<Ref>): Promise<Probe> {
    const vmid = this.vmidOf(h);
    let status: Record<string, string>;
    try {
      status = await this.status(vmid, "state failed");
    } catch (e) {
      if (this.tool.isMissing(e)) return { status: "stopped", pid: 0 };
      throw e;
    }
    const paused = this.paused(status);
    const g: GuestStatus = {
      running: status["status"] === "running",
      pid: Number(status["pid"]),
      ...(paused !== undefined ? { paused } : {}),
      startedBefore: existsSync(startedMarker(h, this.startedFile)),
    };
    return this.liveProbe(h, g);
  }

  /** The OCI status from the guest's status (default: guestProbe's mapping). */
  protected liveProbe(h: Handle<Ref>, g: GuestStatus): Probe {
    return guestProbe(h, g);
  }

  /** This backend's own health lines (storage, source) after the tools', and whether they are fine. */
  protected abstract healthDetails(): { ok: boolean; details: string[] };

  async health(): Promise<HealthReport> {
    const tools = this.tool.paths;
    const details = tools.map(([name, path]) => `${name}: ${existsSync(path) ? path : `${path} not found`}`);
    const own = this.healthDetails();
    return { backend: this.name, ok: tools.every(([, path]) => existsSync(path)) && own.ok, details: [...details, ...own.details] };
  }
}
