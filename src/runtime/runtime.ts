import { existsSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { ownerName } from "./owner.js";
import type { Backend, BackendContext, Created, CreateRequest, ExecRequest } from "../backends/backend.js";
import { hostProcessProbe, loadBackend, signalsInitItself } from "../backends/backend.js";
import type { BackendName } from "../config/schema.js";
import type { LoadedConfig } from "../config/load.js";
import { ContainerExistsError, ContainerNotFoundError, LockTimeoutError, NexcageError, StatusError, UnsupportedError } from "../errors.js";
import type { Logger } from "../log.js";
import { loadBundle, type Bundle } from "../oci/bundle.js";
import type { ResolvedImage } from "../images/for-create.js";
import { validateContainerId } from "../oci/id.js";
import type { Signal } from "../oci/signals.js";
import { OCI_VERSION, ociState, type OciState } from "../oci/state.js";
import { signalProcess } from "../proc/signal.js";
import { isSameLiveProcess, readProcStat } from "../proc/stat.js";
import { crashPoint } from "../crash-point.js";
import { acquireLock, type Lock } from "../state/lock.js";
import type { ContainerRecord } from "../state/record.js";
import { CorruptRecordError, Store } from "../state/store.js";
import { mapLimit } from "./map-limit.js";
import { route } from "./router.js";
import { transition, type Status } from "./status.js";

export interface RuntimeOptions {
  readonly root: string;
  readonly config: LoadedConfig;
  readonly log: Logger;
  readonly systemdCgroup: boolean;
  readonly debug: boolean;
}

export interface CreateOptions {
  readonly id: string;
  readonly bundle: string;
  readonly pidFile?: string;
  readonly consoleSocket?: string;
  readonly noPivot: boolean;
  readonly noNewKeyring: boolean;
  readonly preserveFds: number;
  /** Create from this image reference instead of a bundle (the bundle is unpacked into <root>/<id>/bundle). */
  readonly image?: string;
  /** Registry credentials for pulling the image. */
  readonly authFile?: string;
}

/** Where a container made from an image keeps its unpacked bundle. */
const IMAGE_BUNDLE = "bundle";

/** What create/run work from: a loaded bundle, or an image found (or pulled) before the lock. */
type Prepared = { backend: BackendName; reason: string } & ({ bundle: Bundle; image?: undefined } | { bundle?: undefined; image: ResolvedImage });

/** What each backend leaves in a container's directory before it creates anything: crash debris markers. */
const DEBRIS_MARKERS: ReadonlyArray<[BackendName, string]> = [
  ["crun", "crun"],
  ["runc", "runc"],
  ["proxmox-lxc", "proxmox-lxc.json"],
  ["proxmox-vm", "proxmox-vm.json"],
];

/** How many backend probes `list` runs at once. */
const LIST_PROBES = 8;

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/**
 * The lifecycle operations: lock the id, load the record, check the transition, call the backend,
 * save the record, unlock. Records and locks are nexcage's; backends only run their tools.
 */
export class Runtime {
  readonly store: Store;
  private readonly backends = new Map<BackendName, Promise<Backend>>();

  constructor(private readonly opts: RuntimeOptions) {
    this.store = new Store(canonicalRoot(opts.root));
  }

  /** Read when a lock is taken, not before: the config is loaded on first use. */
  private get lockTimeoutMs(): number {
    return this.opts.config.config.lockTimeoutSeconds * 1000;
  }

  private get log(): Logger {
    return this.opts.log;
  }

  private backend(name: BackendName): Promise<Backend> {
    let b = this.backends.get(name);
    if (!b) {
      const ctx: BackendContext = {
        config: this.opts.config.config,
        log: this.opts.log,
        systemdCgroup: this.opts.systemdCgroup,
        debug: this.opts.debug,
      };
      b = loadBackend(name, ctx);
      this.backends.set(name, b);
    }
    return b;
  }

  /**
   * The id's lock. Holding the socket is not enough while another process is inside a create whose
   * backend forks that process (libcrun): it drops the socket for the fork (the child would inherit
   * it) and its `creating` record, naming it as creator, stands in for the lock until it is back.
   */
  private async lock(id: string): Promise<Lock> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const lock = await acquireLock(this.store.root, id, Math.max(deadline - Date.now(), 0));
      if (!this.createInProgressElsewhere(id)) return lock;
      await lock.release();
      if (Date.now() >= deadline) throw new LockTimeoutError(`container ${id} is busy: another nexcage operation holds it`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private createInProgressElsewhere(id: string): boolean {
    let rec: ContainerRecord | undefined;
    try {
      rec = this.store.read(id);
    } catch {
      return false;
    }
    return rec !== undefined && rec.status === "creating" && creatorAlive(rec) && rec.nexcage.creator?.pid !== process.pid;
  }

  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const lock = await this.lock(id);
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  private mustRead(id: string): ContainerRecord {
    const rec = this.store.read(id);
    if (!rec) throw new ContainerNotFoundError(id);
    return rec;
  }

  /** Live status: the backend's truth; a record still `creating` is so only while its creator process lives. */
  private async live(rec: ContainerRecord, lockHeldByUs: boolean): Promise<{ status: Status; pid: number }> {
    if (rec.status === "creating" && rec.pid === 0) {
      if (!lockHeldByUs && creatorAlive(rec)) return { status: "creating", pid: 0 };
      return { status: "stopped", pid: 0 };
    }
    return hostProcessProbe(rec) ?? (await this.backend(rec.nexcage.backend)).probe(rec);
  }

  // ---- create / run --------------------------------------------------------------------------

  private async prepare(o: CreateOptions, foreground = false): Promise<Prepared> {
    validateContainerId(o.id);
    if (o.image !== undefined) {
      // an image: routed by id alone (there are no bundle annotations yet), found or pulled before the lock
      const r = route(o.id, {}, this.opts.config.config);
      this.log.debug({ id: o.id, backend: r.backend, reason: r.reason, image: o.image }, `route: ${o.id} -> ${r.backend} (${r.reason})`);
      // refuse what is bound to fail before pulling anything (both are checked again under the lock)
      if (foreground) await this.foregroundBackend(r.backend);
      if (this.taken(o.id)) throw new ContainerExistsError(o.id);
      const { resolveImage } = await import("../images/for-create.js");
      const image = await resolveImage(this.opts.config.config, this.log, o.image, r.backend, { authFile: o.authFile });
      return { image, backend: r.backend, reason: r.reason };
    }
    const bundle = loadBundle(o.bundle);
    const r = route(o.id, bundle.annotations, this.opts.config.config);
    this.log.debug({ id: o.id, backend: r.backend, reason: r.reason, config: this.opts.config.source }, `route: ${o.id} -> ${r.backend} (${r.reason})`);
    return { bundle, backend: r.backend, reason: r.reason };
  }

  /** An id with a record (also a corrupt one) is taken; a directory without one is crash debris. */
  private taken(id: string): boolean {
    try {
      return this.store.read(id) !== undefined;
    } catch (e) {
      if (e instanceof CorruptRecordError) return true;
      throw e;
    }
  }

  /** Under the lock: refuse a taken id, clear crash leftovers, write the `creating` record. */
  private async begin(o: CreateOptions, p: Prepared): Promise<{ rec: ContainerRecord; req: Omit<CreateRequest, "bundle"> }> {
    if (this.taken(o.id)) throw new ContainerExistsError(o.id);
    if (!this.store.makeDir(o.id)) {
      // A directory without a record: a create that crashed before its first write. Clear it.
      await this.purge(o.id);
      if (!this.store.makeDir(o.id)) throw new ContainerExistsError(o.id);
    }
    crashPoint("create:dir-made");
    const dir = this.store.dir(o.id);
    const bundlePath = p.bundle?.path ?? join(dir, IMAGE_BUNDLE);
    const annotations = p.bundle?.annotations ?? {};
    const rec: ContainerRecord = {
      ociVersion: OCI_VERSION,
      id: o.id,
      status: "creating",
      pid: 0,
      bundle: bundlePath,
      rootfs: p.bundle?.rootfs ?? join(bundlePath, "rootfs"),
      created: new Date().toISOString(),
      owner: ownerName(),
      ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
      nexcage: {
        backend: p.backend,
        ref: {},
        routeReason: p.reason,
        configSource: this.opts.config.source,
        ...(p.image ? { image: p.image.record } : {}),
        creator: selfProcess(),
      },
    };
    try {
      this.store.write(rec);
    } catch (e) {
      this.store.remove(o.id);
      throw e;
    }
    const req = {
      id: o.id,
      dir,
      pidFile: o.pidFile !== undefined ? resolve(o.pidFile) : join(dir, "init.pid"),
      pidFileGiven: o.pidFile !== undefined,
      consoleSocket: o.consoleSocket !== undefined ? resolve(o.consoleSocket) : undefined,
      noPivot: o.noPivot,
      noNewKeyring: o.noNewKeyring,
      preserveFds: o.preserveFds,
    };
    return { rec, req };
  }

  /** The bundle to create from: the given one, or one unpacked from the image into the container's directory. */
  private async bundleFor(p: Prepared, rec: ContainerRecord, req: Omit<CreateRequest, "bundle">): Promise<{ rec: ContainerRecord; req: CreateRequest }> {
    if (p.bundle) return { rec, req: { ...req, bundle: p.bundle } };
    const { materialise } = await import("../images/for-create.js");
    const m = await materialise(this.opts.config.config, this.log, p.image!, join(req.dir, IMAGE_BUNDLE), req.id);
    const annotations = m.bundle.annotations;
    const full: ContainerRecord = {
      ...rec,
      ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
      nexcage: { ...rec.nexcage, image: m.record },
    };
    return { rec: full, req: { ...req, bundle: m.bundle, ...(m.template !== undefined ? { template: m.template } : {}) } };
  }

  private withInit(rec: ContainerRecord, created: Created, status: Status): ContainerRecord {
    const stat = readProcStat(created.pid);
    const { creator: _done, ...nexcage } = rec.nexcage;
    return {
      ...rec,
      status,
      pid: created.pid,
      nexcage: { ...nexcage, ref: created.ref, ...(stat ? { pidStartTime: stat.startTime } : {}) },
    };
  }

  /** Undo a failed create: the backend's container, then the directory and record. */
  private async rollback(id: string, cause: unknown): Promise<void> {
    try {
      await this.purge(id);
    } catch (e) {
      this.log.error({ id, error: (e as Error).message }, `rollback of ${id} failed`);
      if (cause instanceof NexcageError) {
        throw new NexcageError(`${cause.message} (and cleaning up failed: ${(e as Error).message}; run delete --force ${id})`, cause.exitCode);
      }
    }
  }

  /** Remove every trace of `id` that a backend may have left in its directory, and the directory. */
  private async purge(id: string): Promise<void> {
    const dir = this.store.dir(id);
    for (const [name, marker] of DEBRIS_MARKERS) {
      if (existsSync(join(dir, marker))) await (await this.backend(name)).purge(id, dir);
    }
    this.store.remove(id);
  }

  async create(o: CreateOptions): Promise<void> {
    const prepared = await this.prepare(o);
    const b = await this.backend(prepared.backend);
    let lock: Lock | undefined = await this.lock(o.id);
    try {
      const begun = await this.begin(o, prepared);
      crashPoint("create:record-creating");
      try {
        const { rec, req } = await this.bundleFor(prepared, begun.rec, begun.req);
        if (b.forksCaller) {
          // The fork would inherit the lock's socket and hold it until the container starts: drop it;
          // the `creating` record naming this process keeps everyone else out meanwhile.
          await lock.release();
          lock = undefined;
        }
        let created: Created;
        try {
          created = await b.create(req);
        } finally {
          lock ??= await acquireLock(this.store.root, o.id, this.lockTimeoutMs);
        }
        crashPoint("create:backend-created");
        this.store.write(this.withInit(rec, created, "created"));
        crashPoint("create:record-created");
      } catch (e) {
        await this.rollback(o.id, e);
        throw e;
      }
    } finally {
      await lock?.release();
    }
  }

  private async foregroundBackend(name: BackendName): Promise<Backend & Required<Pick<Backend, "run">>> {
    const b = await this.backend(name);
    if (!b.run) throw new StatusError(`backend ${name} cannot run in the foreground; use run --detach`);
    return b as Backend & Required<Pick<Backend, "run">>;
  }

  /** `run`: create and start; in the foreground, wait for the process and return its exit code. */
  async run(o: CreateOptions & { detach: boolean }): Promise<number> {
    if (o.detach) {
      await this.create(o);
      try {
        await this.start(o.id);
      } catch (e) {
        await this.locked(o.id, () => this.rollback(o.id, e));
        throw e;
      }
      return 0;
    }
    const prepared = await this.prepare(o, true);
    const b = await this.foregroundBackend(prepared.backend);
    let lock: Lock | undefined = await this.lock(o.id);
    let started: { pid: number; startTime?: string } | undefined;
    const forward = (sig: NodeJS.Signals) => {
      if (started && started.startTime !== undefined && readProcStat(started.pid)?.startTime === started.startTime) {
        try {
          process.kill(started.pid, sig);
        } catch {
          // already gone
        }
      }
    };
    for (const s of FORWARDED_SIGNALS) process.on(s, forward);
    try {
      const begun = await this.begin(o, prepared);
      let code: number;
      try {
        const { rec, req } = await this.bundleFor(prepared, begun.rec, begun.req);
        code = await b.run(req, async (created) => {
          const running = this.withInit(rec, created, "running");
          this.store.write(running);
          started = { pid: running.pid, startTime: running.nexcage.pidStartTime };
          await lock?.release();
          lock = undefined;
        });
      } catch (e) {
        if (!lock) lock = await this.lock(o.id);
        await this.rollback(o.id, e);
        throw e;
      }
      if (!lock) lock = await this.lock(o.id);
      await this.rollback(o.id, undefined);
      return code;
    } finally {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      await lock?.release();
    }
  }

  // ---- the rest of the lifecycle -------------------------------------------------------------

  async start(id: string): Promise<void> {
    validateContainerId(id);
    await this.locked(id, async () => {
      const rec = this.mustRead(id);
      const live = await this.live(rec, true);
      transition("start", id, live.status);
      crashPoint("start:checked");
      const started = await (await this.backend(rec.nexcage.backend)).start(rec);
      crashPoint("start:backend-started");
      this.store.write(started ? this.withInit(rec, { ref: rec.nexcage.ref, pid: started.pid }, "running") : { ...rec, status: "running" });
    });
  }

  async state(id: string): Promise<OciState> {
    validateContainerId(id);
    const rec = this.mustRead(id);
    return ociState(rec, await this.live(rec, false));
  }

  async kill(id: string, signal: Signal, all: boolean): Promise<void> {
    validateContainerId(id);
    await this.locked(id, async () => {
      const rec = this.mustRead(id);
      const live = await this.live(rec, true);
      transition("kill", id, live.status);
      crashPoint("kill:checked");
      if (signalsInitItself(rec, live.status, all)) {
        this.log.debug({ id, pid: rec.pid, signal: signal.name }, `kill: ${signal.name} to init ${rec.pid}`);
        // gone since the check: what the runtime would have found
        if (!signalProcess(rec.pid, signal)) throw new StatusError("container not running");
      } else {
        await (await this.backend(rec.nexcage.backend)).kill(rec, signal, all);
      }
      crashPoint("kill:backend-killed");
    });
  }

  async delete(id: string, force: boolean): Promise<void> {
    validateContainerId(id);
    await this.locked(id, async () => {
      let rec: ContainerRecord | undefined;
      try {
        rec = this.store.read(id);
      } catch (e) {
        if (!(e instanceof CorruptRecordError) || !force) throw e;
        this.log.warn({ id }, `removing container ${id} with a corrupt record`);
        await this.purge(id);
        return;
      }
      if (!rec) {
        if (force) {
          if (existsSync(this.store.dir(id))) await this.purge(id);
          return;
        }
        throw new ContainerNotFoundError(id);
      }
      const live = await this.live(rec, true);
      if (!force) transition("delete", id, live.status);
      crashPoint("delete:checked");
      if (rec.status === "creating") {
        // its creator died before the backend's answer was recorded: clear it as crash debris
        await this.purge(id);
        return;
      }
      await (await this.backend(rec.nexcage.backend)).delete(rec, force || live.status === "stopped");
      crashPoint("delete:backend-deleted");
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
          this.log.warn({ id }, e.message);
          continue;
        }
        throw e;
      }
      if (rec) recs.push(rec);
    }
    const lives = await mapLimit(recs, LIST_PROBES, (rec) => this.live(rec, false));
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

  /** The backend of a live container, refusing a capability it lacks. */
  private async capable<K extends "exec" | "ps" | "pause" | "resume" | "update">(rec: ContainerRecord, cap: K): Promise<Backend> {
    const b = await this.backend(rec.nexcage.backend);
    if (typeof b[cap] !== "function") throw new UnsupportedError(`backend ${b.name} does not support ${cap}`);
    return b;
  }

  /** Runs a process in the container. The lock is not held while it runs (kill must get through). */
  async exec(id: string, req: ExecRequest): Promise<number> {
    validateContainerId(id);
    const { rec, b } = await this.locked(id, async () => {
      const rec = this.mustRead(id);
      const live = await this.live(rec, true);
      try {
        transition("exec", id, live.status);
      } catch (e) {
        // runc exits 255 for an exec into a container that is not running
        throw new StatusError((e as Error).message, 255);
      }
      return { rec, b: await this.capable(rec, "exec") };
    });
    return b.exec!(rec, req);
  }

  async ps(id: string): Promise<number[]> {
    validateContainerId(id);
    const rec = this.mustRead(id);
    transition("ps", id, (await this.live(rec, false)).status);
    return (await this.capable(rec, "ps")).ps!(rec);
  }

  async pause(id: string): Promise<void> {
    await this.change(id, "pause", (b, rec) => b.pause!(rec));
  }

  async resume(id: string): Promise<void> {
    await this.change(id, "resume", (b, rec) => b.resume!(rec));
  }

  async update(id: string, flags: readonly string[]): Promise<void> {
    await this.change(id, "update", (b, rec) => b.update!(rec, flags));
  }

  /** lock → status check → backend call → record with the new status. */
  private async change(id: string, op: "pause" | "resume" | "update", call: (b: Backend, rec: ContainerRecord) => Promise<void>): Promise<void> {
    validateContainerId(id);
    await this.locked(id, async () => {
      const rec = this.mustRead(id);
      const next = transition(op, id, (await this.live(rec, true)).status);
      await call(await this.capable(rec, op), rec);
      if (next !== rec.status) this.store.write({ ...rec, status: next });
    });
  }

  /** SIGTERM, wait up to `timeoutSeconds` for the container to stop, then SIGKILL to all its processes. */
  async stop(id: string, timeoutSeconds: number, term: Signal, kill: Signal): Promise<void> {
    validateContainerId(id);
    const first = await this.locked(id, async () => {
      const rec = this.mustRead(id);
      const live = await this.live(rec, true);
      if (live.status === "stopped") return false;
      if (live.status === "creating") throw new StatusError(`container ${id} is still being created`);
      await (await this.backend(rec.nexcage.backend)).kill(rec, term, false);
      return true;
    });
    if (!first) return;
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
      if ((await this.state(id)).status === "stopped") return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.locked(id, async () => {
      const rec = this.mustRead(id);
      const live = await this.live(rec, true);
      if (live.status === "stopped") return;
      this.log.warn({ id }, `container ${id} did not stop within ${timeoutSeconds}s; sending SIGKILL`);
      await (await this.backend(rec.nexcage.backend)).kill(rec, kill, true);
    });
    for (let i = 0; i < 100; i++) {
      if ((await this.state(id)).status === "stopped") return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new StatusError(`container ${id} did not stop after SIGKILL`);
  }

  /** Checks each backend the configuration can route to. */
  async health(): Promise<{ name: BackendName; ok: boolean; details: readonly string[]; isDefault: boolean }[]> {
    const cfg = this.opts.config.config;
    const names = new Set<BackendName>([cfg.defaultBackend, ...cfg.routing.map((r) => r.backend), "crun", "runc"]);
    const out = [];
    for (const name of names) {
      try {
        const report = await (await this.backend(name)).health();
        out.push({ name, ok: report.ok, details: report.details, isDefault: name === cfg.defaultBackend });
      } catch (e) {
        out.push({ name, ok: false, details: [(e as Error).message], isDefault: name === cfg.defaultBackend });
      }
    }
    return out;
  }
}

/** The root with symlinks resolved where it exists, so every spelling of one root shares its locks. */
function canonicalRoot(root: string): string {
  const abs = resolve(root);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

function selfProcess(): { pid: number; startTime: string } | undefined {
  const stat = readProcStat(process.pid);
  return stat ? { pid: process.pid, startTime: stat.startTime } : undefined;
}

/** The process that wrote a `creating` record is still at work (not crashed). */
function creatorAlive(rec: ContainerRecord): boolean {
  const c = rec.nexcage.creator;
  return c !== undefined && isSameLiveProcess(c.pid, c.startTime);
}

function isValidId(name: string): boolean {
  try {
    validateContainerId(name);
    return true;
  } catch {
    return false;
  }
}

