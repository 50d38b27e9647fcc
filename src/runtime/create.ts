import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Backend, Created, CreateRequest } from "../backends/contract.js";
import { REGISTRY } from "../backends/registry.js";
import { crashPoint } from "../crash-point.js";
import { ContainerExistsError, NexcageError, StatusError } from "../errors.js";
import type { ResolvedImage } from "../images/create-from-image.js";
import type { BackendName } from "../names.js";
import { loadBundle, type Bundle } from "../oci/bundle.js";
import { validateContainerId } from "../oci/id.js";
import { OCI_VERSION } from "../oci/state.js";
import type { ContainerRecord } from "../state/record.js";
import { CorruptRecordError } from "../state/store.js";
import type { RuntimeCore } from "./core.js";
import { selfProcess, type HeldLock } from "./lock-protocol.js";
import { ownerName } from "./owner.js";
import { memberRequest, placeMember } from "./pod-placement.js";
import { route } from "./router.js";

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
export type Prepared = {
  backend: BackendName;
  reason: string;
  /** A pod's container placed beside its sandbox (pod-placement.ts): the record notes the pod. */
  pod?: { sandbox: string } & Readonly<Record<string, string | number>>;
} & ({ bundle: Bundle; image?: undefined } | { bundle?: undefined; image: ResolvedImage });

/**
 * create and its undoing: route and load outside the lock; under it, refuse a taken id, clear
 * crash debris, write the `creating` record, call the backend, record the init; roll all of it
 * back when a step fails.
 */
export class Creation {
  constructor(private readonly core: RuntimeCore) {}

  private get config() {
    return this.core.opts.config;
  }

  async prepare(o: CreateOptions, foreground = false): Promise<Prepared> {
    validateContainerId(o.id);
    const log = this.core.log;
    if (o.image !== undefined) {
      // an image: routed by id alone (there are no bundle annotations yet), found or pulled before the lock
      const r = route(o.id, {}, this.config.config, resolve(this.core.opts.root));
      log.debug({ id: o.id, backend: r.backend, reason: r.reason, image: o.image }, `route: ${o.id} -> ${r.backend} (${r.reason})`);
      // refuse what is bound to fail before pulling anything (both are checked again under the lock)
      if (foreground) await this.foregroundBackend(r.backend);
      if (this.idTaken(o.id)) throw new ContainerExistsError(o.id);
      const { resolveImage } = await import("../images/create-from-image.js");
      const image = await resolveImage(this.config.config, log, o.image, r.backend, { authFile: o.authFile });
      return { image, backend: r.backend, reason: r.reason };
    }
    const bundle = loadBundle(o.bundle);
    const r = route(o.id, bundle.annotations, this.config.config, resolve(this.core.opts.root));
    log.debug({ id: o.id, backend: r.backend, reason: r.reason, config: this.config.source }, `route: ${o.id} -> ${r.backend} (${r.reason})`);
    return { bundle, backend: r.backend, reason: r.reason };
  }

  /** The backend of a foreground `run`, refused when its descriptor says it cannot. */
  async foregroundBackend(name: BackendName): Promise<Backend & Required<Pick<Backend, "run">>> {
    if (!REGISTRY[name].can.run) throw new StatusError(`backend ${name} cannot run in the foreground; use run --detach`);
    return (await this.core.backend(name)) as Backend & Required<Pick<Backend, "run">>;
  }

  /** An id with a record (also a corrupt one) is taken; a directory without one is crash debris. */
  private idTaken(id: string): boolean {
    try {
      return this.core.store.read(id) !== undefined;
    } catch (e) {
      if (e instanceof CorruptRecordError) return true;
      throw e;
    }
  }

  /** Under the lock: refuse a taken id, clear crash leftovers, write the `creating` record. */
  async writeCreatingRecord(o: CreateOptions, p: Prepared): Promise<{ rec: ContainerRecord; req: Omit<CreateRequest, "bundle"> }> {
    const store = this.core.store;
    if (this.idTaken(o.id)) throw new ContainerExistsError(o.id);
    if (!store.makeDir(o.id)) {
      // A directory without a record: a create that crashed before its first write. Clear it.
      await this.purge(o.id);
      if (!store.makeDir(o.id)) throw new ContainerExistsError(o.id);
    }
    crashPoint("create:dir-made");
    const dir = store.dir(o.id);
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
        configSource: this.config.source,
        ...(p.image ? { image: p.image.record } : {}),
        ...(p.pod ? { pod: p.pod } : {}),
        creator: selfProcess(),
      },
    };
    try {
      store.write(rec);
    } catch (e) {
      store.remove(o.id);
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
  async bundleFor(p: Prepared, rec: ContainerRecord, req: Omit<CreateRequest, "bundle">): Promise<{ rec: ContainerRecord; req: CreateRequest }> {
    if (p.bundle) return { rec, req: { ...req, bundle: p.bundle } };
    const { materialise } = await import("../images/create-from-image.js");
    const m = await materialise(this.config.config, this.core.log, p.image!, join(req.dir, IMAGE_BUNDLE), req.id);
    const annotations = m.bundle.annotations;
    const full: ContainerRecord = {
      ...rec,
      ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
      nexcage: { ...rec.nexcage, image: m.record },
    };
    return { rec: full, req: { ...req, bundle: m.bundle, ...(m.volume !== undefined ? { volume: m.volume } : {}) } };
  }

  /** Undo a failed create: the backend's container, then the directory and record. */
  async rollback(id: string, cause: unknown): Promise<void> {
    try {
      await this.purge(id);
    } catch (e) {
      this.core.log.error({ id, error: (e as Error).message }, `rollback of ${id} failed`);
      if (cause instanceof NexcageError) {
        throw new NexcageError(`${cause.message} (and cleaning up failed: ${(e as Error).message}; run delete --force ${id})`, cause.exitCode);
      }
    }
  }

  /**
   * Remove every trace of `id` that a backend may have left in its directory or on the host, and
   * the directory. A backend is asked when its debris is there, and the one a readable record
   * names also without it when its runtime is a host process (a `crun create` whose nexcage was
   * killed may still be at work and make its root after the directory is gone).
   */
  async purge(id: string): Promise<void> {
    const dir = this.core.store.dir(id);
    const rec = this.readableRecord(id);
    for (const d of Object.values(REGISTRY)) {
      if ((d.initIsHostProcess && d.name === rec?.nexcage.backend) || d.debris.some((f) => existsSync(join(dir, f)))) {
        await (await this.core.backend(d.name)).purge(id, dir, rec?.bundle);
      }
    }
    this.core.store.remove(id);
  }

  private readableRecord(id: string): ContainerRecord | undefined {
    try {
      return this.core.store.read(id);
    } catch {
      return undefined; // corrupt or unreadable: the debris files alone say what to clear
    }
  }

  /**
   * The backend's create under the lock; a backend that forks this process (libcrun) gets it
   * without the lock, which is taken back before the record is written.
   */
  async backendCreate(b: Backend, req: CreateRequest, lock: HeldLock): Promise<Created> {
    if (b.forksCaller) await lock.drop();
    try {
      return await b.create(req);
    } finally {
      await lock.retake();
    }
  }

  async create(o: CreateOptions): Promise<void> {
    const routed = await this.prepare(o);
    const member = await placeMember(this.core, o.id, routed);
    const prepared = member?.prepared ?? routed;
    const b = await this.core.backend(prepared.backend);
    const lock = await this.core.locks.take(o.id);
    try {
      const begun = await this.writeCreatingRecord(o, prepared);
      crashPoint("create:record-creating");
      try {
        const { rec, req } = await this.bundleFor(prepared, begun.rec, begun.req);
        const created = await this.backendCreate(b, member !== undefined ? memberRequest(req, member) : req, lock);
        crashPoint("create:backend-created");
        this.core.store.write(this.core.withInit(rec, created, "created"));
        crashPoint("create:record-created");
      } catch (e) {
        await this.rollback(o.id, e);
        throw e;
      }
    } finally {
      await lock.release();
    }
  }
}
