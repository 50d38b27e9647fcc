import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import type { AnyRef, Backend, BackendContext, Capability, Created, Handle, Probe } from "../backends/contract.js";
import { descriptor, hostProcessProbe, loadBackend } from "../backends/registry.js";
import type { LoadedConfig } from "../config/load.js";
import { ContainerNotFoundError, UnsupportedError } from "../errors.js";
import type { Logger } from "../log.js";
import type { BackendName, Status } from "../names.js";
import { validateContainerId } from "../oci/id.js";
import { readProcStat } from "../proc/stat.js";
import type { ContainerRecord } from "../state/record.js";
import { Store } from "../state/store.js";
import { creatorAlive, LockProtocol, type LockedRead } from "./lock-protocol.js";

export interface RuntimeOptions {
  readonly root: string;
  readonly config: LoadedConfig;
  readonly log: Logger;
  readonly systemdCgroup: boolean;
  readonly debug: boolean;
}

/**
 * What every part of the runtime shares: the store, the lock protocol, the loaded backends, and
 * the record → handle and record → live status steps.
 */
export class RuntimeCore {
  readonly store: Store;
  readonly locks: LockProtocol;
  private readonly backends = new Map<BackendName, Promise<Backend>>();

  constructor(readonly opts: RuntimeOptions) {
    this.store = new Store(canonicalRoot(opts.root));
    this.locks = new LockProtocol(this.store, () => opts.config.config.lockTimeoutSeconds * 1000);
  }

  get log(): Logger {
    return this.opts.log;
  }

  backend(name: BackendName): Promise<Backend> {
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

  /** The backend of a container, refusing an optional operation its descriptor says it lacks. */
  async backendFor(rec: ContainerRecord, cap: Capability): Promise<Backend> {
    const name = rec.nexcage.backend;
    if (!descriptor(name).can[cap]) throw new UnsupportedError(`backend ${name} does not support ${cap}`);
    return this.backend(name);
  }

  /** What a backend is told about its container. */
  handle(rec: ContainerRecord): Handle<AnyRef> {
    const start = rec.nexcage.pidStartTime;
    return {
      id: rec.id,
      dir: this.store.dir(rec.id),
      status: rec.status,
      pid: rec.pid,
      ...(start !== undefined ? { pidStartTime: start } : {}),
      ref: rec.nexcage.ref,
    };
  }

  /** Live status: the backend's truth; a record still `creating` is so only while its creator process lives. */
  async liveStatus(rec: ContainerRecord, lockHeldByUs: boolean): Promise<Probe> {
    if (rec.status === "creating" && rec.pid === 0) {
      if (!lockHeldByUs && creatorAlive(rec)) return { status: "creating", pid: 0 };
      return { status: "stopped", pid: 0 };
    }
    const h = this.handle(rec);
    return hostProcessProbe(rec.nexcage.backend, h) ?? (await this.backend(rec.nexcage.backend)).probe!(h);
  }

  /** The record with the init the backend reported (its start time read now) and the new status. */
  withInit(rec: ContainerRecord, created: Created, status: Status): ContainerRecord {
    const stat = readProcStat(created.pid);
    const { creator: _done, ...nexcage } = rec.nexcage;
    return {
      ...rec,
      status,
      pid: created.pid,
      nexcage: { ...nexcage, ref: created.ref as ContainerRecord["nexcage"]["ref"], ...(stat ? { pidStartTime: stat.startTime } : {}) },
    };
  }

  mustRead(id: string): ContainerRecord {
    const rec = this.store.read(id);
    if (!rec) throw new ContainerNotFoundError(id);
    return rec;
  }

  /**
   * The plain operation's frame: validate the id, take its lock, the record read under it (one
   * read), its live status; then `fn`; then unlock.
   */
  withLiveRecord<T>(id: string, fn: (rec: ContainerRecord, live: Probe) => Promise<T>): Promise<T> {
    validateContainerId(id);
    return this.locks.with(id, async (read) => {
      const rec = recordOf(id, read);
      return fn(rec, await this.liveStatus(rec, true));
    });
  }
}

/** The record of a read under the lock, or the error the direct read would have thrown. */
export function recordOf(id: string, read: LockedRead): ContainerRecord {
  if (read.error !== undefined) throw read.error;
  if (!read.rec) throw new ContainerNotFoundError(id);
  return read.rec;
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
