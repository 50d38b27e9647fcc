import { existsSync } from "node:fs";
import type { ExecRequest, Handle } from "../backends/contract.js";
import { startThroughExecFifo } from "../backends/exec-fifo.js";
import type { OciRef } from "../backends/probe.js";
import { deleteStoppedCrunContainer } from "../backends/crun-stopped-delete.js";
import { deletesStoppedItself, descriptor, REGISTRY, signalsInitItself, startsInitItself } from "../backends/registry.js";
import { crashPoint } from "../crash-point.js";
import { ContainerNotFoundError, NotRunningError } from "../errors.js";
import type { BackendName } from "../names.js";
import { validateContainerId } from "../oci/id.js";
import type { Signal } from "../oci/signals.js";
import { ociState, type OciState } from "../oci/state.js";
import { signalContainerProcess } from "../proc/container-process.js";
import type { ContainerRecord } from "../state/record.js";
import { CorruptRecordError, type Store } from "../state/store.js";
import { RuntimeCore, type RuntimeOptions } from "./core.js";
import { Creation, type CreateOptions } from "./create.js";
import { runForeground } from "./foreground.js";
import { refMisplaced } from "../state/record-ref.js";
import { mapLimit } from "./map-limit.js";
import { dropOrphanedPodCgroup } from "./pod-placement.js";
import { execTransition, transition } from "./status.js";
import { stopContainer } from "./stop.js";

export type { RuntimeOptions } from "./core.js";
export type { CreateOptions } from "./create.js";

/** How many backend probes `list` runs at once. */
const LIST_PROBES = 8;

/**
 * The lifecycle operations, one method each: lock the id, read the record, check the transition,
 * call the backend with a handle, save the record, unlock. Records and locks are nexcage's;
 * backends only run their tools. create/rollback (create.ts), the foreground run
 * (foreground.ts), stop's polling (stop.ts) and the lock protocol (lock-protocol.ts) live apart.
 */
export class Runtime {
  private readonly core: RuntimeCore;
  private readonly creation: Creation;

  constructor(opts: RuntimeOptions) {
    this.core = new RuntimeCore(opts);
    this.creation = new Creation(this.core);
  }

  get store(): Store {
    return this.core.store;
  }

  create(o: CreateOptions): Promise<void> {
    return this.creation.create(o);
  }

  /** `run`: create and start; in the foreground, wait for the process and return its exit code. */
  async run(o: CreateOptions & { detach: boolean }): Promise<number> {
    if (!o.detach) return runForeground(this.core, this.creation, o);
    await this.create(o);
    try {
      await this.start(o.id);
    } catch (e) {
      await this.core.locks.with(o.id, () => this.creation.rollback(o.id, e));
      throw e;
    }
    return 0;
  }

  async start(id: string): Promise<void> {
    await this.core.withLiveRecord(id, async (rec, live) => {
      transition("start", id, live.status);
      crashPoint("start:checked");
      const h = this.core.handle(rec);
      const itself = startsInitItself(rec.nexcage.backend, live.status) && startThroughExecFifo(h as Handle<OciRef>);
      if (itself) this.core.log.debug({ id, pid: rec.pid }, `start: init ${rec.pid} released through its exec fifo`);
      const started = itself ? undefined : await (await this.core.backend(rec.nexcage.backend)).start(h);
      crashPoint("start:backend-started");
      this.store.write(started ? this.core.withInit(rec, { ref: rec.nexcage.ref, pid: started.pid }, "running") : { ...rec, status: "running" });
    });
  }

  async state(id: string): Promise<OciState> {
    validateContainerId(id);
    const rec = this.core.mustRead(id);
    return ociState(rec, await this.core.liveStatus(rec, false));
  }

  async kill(id: string, signal: Signal, all: boolean): Promise<void> {
    await this.core.withLiveRecord(id, async (rec, live) => {
      transition("kill", id, live.status);
      crashPoint("kill:checked");
      if (signalsInitItself(rec.nexcage.backend, rec, live.status, all)) {
        this.core.log.debug({ id, pid: rec.pid, signal: signal.name }, `kill: ${signal.name} to init ${rec.pid}`);
        // gone since the check: what the runtime would have found
        if (!signalContainerProcess(rec.pid, rec.id, signal)) throw new NotRunningError();
      } else {
        await (await this.core.backend(rec.nexcage.backend)).kill(this.core.handle(rec), signal, all);
      }
      crashPoint("kill:backend-killed");
    });
  }

  async delete(id: string, force: boolean): Promise<void> {
    validateContainerId(id);
    await this.core.locks.with(id, async (read) => {
      if (read.error !== undefined) {
        if (!(read.error instanceof CorruptRecordError) || !force) throw read.error;
        this.core.log.warn({ id }, `removing container ${id} with a corrupt record`);
        await this.creation.purge(id);
        return;
      }
      const rec = read.rec;
      if (!rec) {
        if (force) {
          if (existsSync(this.store.dir(id))) await this.creation.purge(id);
          return;
        }
        throw new ContainerNotFoundError(id);
      }
      const live = await this.core.liveStatus(rec, true);
      if (!force) transition("delete", id, live.status);
      crashPoint("delete:checked");
      if (rec.status === "creating") {
        // its creator died before the backend's answer was recorded: clear it as crash debris
        await this.creation.purge(id);
        return;
      }
      if (force && refMisplaced(rec, this.store.dir(id), descriptor(rec.nexcage.backend).runtimeRoot)) {
        this.core.log.warn({ id }, `delete --force ${id}: its record does not name its runtime root; purging its directory`);
        await this.creation.purge(id);
        return;
      }
      const h = this.core.handle(rec);
      const itself = deletesStoppedItself(rec.nexcage.backend, live.status) && (await deleteStoppedCrunContainer(h as Handle<OciRef>, this.core.opts.systemdCgroup));
      if (itself) this.core.log.debug({ id }, `delete: cgroup and state of stopped ${id} removed without ${rec.nexcage.backend}`);
      else await (await this.core.backend(rec.nexcage.backend)).delete(h, force || live.status === "stopped");
      crashPoint("delete:backend-deleted");
      if (rec.nexcage.pod !== undefined) dropOrphanedPodCgroup(this.core, rec);
      this.store.remove(id);
    });
  }

  /**
   * Every container under the root, sorted by id. Records are read one by one (cheap); the live
   * status of crun/runc containers is a /proc read, and the backends that must ask their tool
   * (proxmox-lxc: one `pct status` each) are asked LIST_PROBES at a time, not one after another.
   */
  async list(): Promise<Array<OciState & { backend: BackendName }>> {
    const recs: ContainerRecord[] = [];
    for (const id of this.store.ids(isValidId)) {
      let rec: ContainerRecord | undefined;
      try {
        rec = this.store.read(id);
      } catch (e) {
        if (e instanceof CorruptRecordError) {
          this.core.log.warn({ id }, e.message);
          continue;
        }
        throw e;
      }
      if (rec) recs.push(rec);
    }
    const lives = await mapLimit(recs, LIST_PROBES, (rec) => this.core.liveStatus(rec, false));
    return recs.map((rec, i) => ({ ...ociState(rec, lives[i]!), backend: rec.nexcage.backend }));
  }

  /** Every readable record under the root (corrupt ones are skipped). */
  records(): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const id of this.store.ids(isValidId)) {
      try {
        const rec = this.store.read(id);
        if (rec) out.push(rec);
      } catch (e) {
        if (!(e instanceof CorruptRecordError)) throw e;
      }
    }
    return out;
  }

  /** Runs a process in the container. The lock is not held while it runs (kill must get through). */
  async exec(id: string, req: ExecRequest): Promise<number> {
    const { rec, b } = await this.core.withLiveRecord(id, async (rec, live) => {
      execTransition(id, live.status);
      return { rec, b: await this.core.backendFor(rec, "exec") };
    });
    return b.exec!(this.core.handle(rec), req);
  }

  /** Under the lock, as every operation that calls the runtime: a `delete` racing it made crun crash. */
  async ps(id: string): Promise<number[]> {
    return this.core.withLiveRecord(id, async (rec, live) => {
      transition("ps", id, live.status);
      return (await this.core.backendFor(rec, "ps")).ps!(this.core.handle(rec));
    });
  }

  /** ps in table format: the pids, and ps(1)'s text where they live when that is not the host (else the caller runs the host's). */
  async psTable(id: string, psOptions: readonly string[]): Promise<{ pids: number[]; text?: string }> {
    return this.core.withLiveRecord(id, async (rec, live) => {
      transition("ps", id, live.status);
      const b = await this.core.backendFor(rec, "ps");
      const h = this.core.handle(rec);
      return b.psTable ? b.psTable(h, psOptions) : { pids: await b.ps!(h) };
    });
  }

  async pause(id: string): Promise<void> {
    await this.changeStatus(id, "pause", (b, h) => b.pause!(h));
  }

  async resume(id: string): Promise<void> {
    await this.changeStatus(id, "resume", (b, h) => b.resume!(h));
  }

  async update(id: string, flags: readonly string[]): Promise<void> {
    await this.changeStatus(id, "update", (b, h) => b.update!(h, flags));
  }

  /** lock → status check → backend call → record with the new status. */
  private async changeStatus(
    id: string,
    op: "pause" | "resume" | "update",
    call: (b: Awaited<ReturnType<RuntimeCore["backend"]>>, h: ReturnType<RuntimeCore["handle"]>) => Promise<void>,
  ): Promise<void> {
    await this.core.withLiveRecord(id, async (rec, live) => {
      const next = transition(op, id, live.status);
      await call(await this.core.backendFor(rec, op), this.core.handle(rec));
      if (next !== rec.status) this.store.write({ ...rec, status: next });
    });
  }

  /** SIGTERM, wait up to `timeoutSeconds` for the container to stop, then SIGKILL to all its processes. */
  stop(id: string, timeoutSeconds: number, term: Signal, kill: Signal): Promise<void> {
    return stopContainer(this.core, id, timeoutSeconds, term, kill);
  }

  /** Checks each backend the configuration can route to, and those the registry always checks. */
  async health(): Promise<{ name: BackendName; ok: boolean; details: readonly string[]; isDefault: boolean }[]> {
    const cfg = this.core.opts.config.config;
    const always = Object.values(REGISTRY).filter((d) => d.alwaysChecked).map((d) => d.name);
    const names = new Set<BackendName>([cfg.defaultBackend, ...cfg.routing.map((r) => r.backend), ...always]);
    const out = [];
    for (const name of names) {
      try {
        const report = await (await this.core.backend(name)).health();
        out.push({ name, ok: report.ok, details: report.details, isDefault: name === cfg.defaultBackend });
      } catch (e) {
        out.push({ name, ok: false, details: [(e as Error).message], isDefault: name === cfg.defaultBackend });
      }
    }
    return out;
  }
}

function isValidId(name: string): boolean {
  try {
    validateContainerId(name);
    return true;
  } catch {
    return false;
  }
}
