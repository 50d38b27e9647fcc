import { withBackoff } from "../backoff.js";
import { ContainerBusyError } from "../errors.js";
import { isSameLiveProcess, readProcStat } from "../proc/stat.js";
import { acquireLock, type Lock } from "../state/lock.js";
import type { ContainerRecord } from "../state/record.js";
import type { Store } from "../state/store.js";

/** The record as read under the lock: the record, none (`rec` undefined), or why it could not be read. */
export interface LockedRead {
  readonly rec?: ContainerRecord;
  readonly error?: unknown;
}

/** This process, as a `creating` record names its creator. */
export function selfProcess(): { pid: number; startTime: string } | undefined {
  const stat = readProcStat(process.pid);
  return stat ? { pid: process.pid, startTime: stat.startTime } : undefined;
}

/** The process that wrote a `creating` record is still at work (not crashed). */
export function creatorAlive(rec: ContainerRecord): boolean {
  const c = rec.nexcage.creator;
  return c !== undefined && isSameLiveProcess(c.pid, c.startTime);
}

function readUnderLock(store: Store, id: string): LockedRead {
  try {
    return { rec: store.read(id) };
  } catch (e) {
    return { error: e };
  }
}

/**
 * The id's lock as the runtime takes it. Holding state/lock.ts's lock is not enough while another
 * process is inside a create whose backend forks that process (libcrun): it drops the lock for the
 * fork (the child would inherit it) and its `creating` record, naming it as creator, stands in for
 * the lock until it is back. The record read for that check is the operation's one read.
 */
export class LockProtocol {
  constructor(
    private readonly store: Store,
    /** Read when a lock is taken, not before: the config is loaded on first use. */
    private readonly timeoutMs: () => number,
  ) {}

  async take(id: string): Promise<HeldLock> {
    const { lock, read } = await this.acquire(id);
    return new HeldLock(this, id, lock, read);
  }

  /** @internal HeldLock's retake. */
  async acquire(id: string): Promise<{ lock: Lock; read: LockedRead }> {
    return withBackoff(
      this.timeoutMs(),
      async (leftMs) => {
        const lock = await acquireLock(this.store.root, id, leftMs);
        const read = readUnderLock(this.store, id);
        const rec = read.rec;
        const elsewhere = rec !== undefined && rec.status === "creating" && creatorAlive(rec) && rec.nexcage.creator?.pid !== process.pid;
        if (!elsewhere) return { lock, read };
        await lock.release();
        return undefined;
      },
      () => new ContainerBusyError(id),
    );
  }

  /** Runs `fn` holding the id's lock; `fn` gets the record read under it. */
  async with<T>(id: string, fn: (read: LockedRead, held: HeldLock) => Promise<T>): Promise<T> {
    const held = await this.take(id);
    try {
      return await fn(held.read, held);
    } finally {
      await held.release();
    }
  }
}

/** A taken lock that can be let go for a while (a forking create, a foreground run) and taken back. */
export class HeldLock {
  constructor(
    private readonly locks: LockProtocol,
    private readonly id: string,
    private lock: Lock | undefined,
    /** The record as read when the lock was taken. */
    readonly read: LockedRead,
  ) {}

  get held(): boolean {
    return this.lock !== undefined;
  }

  /** Lets the lock go; the `creating` record naming this process keeps the others out meanwhile. */
  async drop(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  /** Takes the lock back if it was dropped. */
  async retake(): Promise<void> {
    this.lock ??= (await this.locks.acquire(this.id)).lock;
  }

  async release(): Promise<void> {
    await this.drop();
  }
}
