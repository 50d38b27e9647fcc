import { readProcStat } from "../proc/stat.js";
import type { RuntimeCore } from "./core.js";
import type { CreateOptions, Creation } from "./create.js";

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/**
 * `run` without --detach: create and start through the backend's run, publish the record once the
 * init is known and let the lock go while the container runs (kill must get through), forward
 * this process's signals to the init (after the same start-time check as kill), and remove the
 * container when it exits. Returns its exit code.
 */
export async function runForeground(core: RuntimeCore, creation: Creation, o: CreateOptions): Promise<number> {
  const prepared = await creation.prepare(o, true);
  const b = await creation.foregroundBackend(prepared.backend);
  const lock = await core.locks.take(o.id);
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
    const begun = await creation.writeCreatingRecord(o, prepared);
    let code: number;
    try {
      const { rec, req } = await creation.bundleFor(prepared, begun.rec, begun.req);
      code = await b.run(req, async (created) => {
        const running = core.withInit(rec, created, "running");
        core.store.write(running);
        started = { pid: running.pid, startTime: running.nexcage.pidStartTime };
        await lock.drop();
      });
    } catch (e) {
      await lock.retake();
      await creation.rollback(o.id, e);
      throw e;
    }
    await lock.retake();
    await creation.rollback(o.id, undefined);
    return code;
  } finally {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    await lock.release();
  }
}
