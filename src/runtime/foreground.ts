import { foregroundSignalsInit } from "../backends/registry.js";
import { parseSignal } from "../oci/signals.js";
import { readProcStat } from "../proc/stat.js";
import type { ContainerRecord } from "../state/record.js";
import type { RuntimeCore } from "./core.js";
import type { CreateOptions, Creation } from "./create.js";

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/**
 * `run` without --detach: create and start through the backend's run, publish the record once the
 * init is known and let the lock go while the container runs (kill must get through), forward
 * this process's signals to the container, and remove the container when it exits. Returns its
 * exit code. A signal goes to the init's host pid (after the same start-time check as kill), or,
 * when the init is no host process (a VM's QEMU), through the backend's kill as `nexcage kill`
 * sends it: Ctrl-C then shuts a VM down instead of killing its QEMU.
 */
export async function runForeground(core: RuntimeCore, creation: Creation, o: CreateOptions): Promise<number> {
  const prepared = await creation.prepare(o, true);
  const b = await creation.foregroundBackend(prepared.backend);
  const viaInit = foregroundSignalsInit(prepared.backend);
  const lock = await core.locks.take(o.id);
  let started: ContainerRecord | undefined;
  /** The backend's kills, one after the other; run waits for them before it removes the container. */
  let delivering: Promise<void> = Promise.resolve();
  const forward = (sig: NodeJS.Signals) => {
    if (started === undefined) return;
    const rec = started;
    if (!viaInit) {
      delivering = delivering
        .then(() => b.kill(core.handle(rec), parseSignal(sig), false))
        .catch((e: unknown) => core.log.warn({ id: o.id, signal: sig }, `run: ${sig} not delivered: ${(e as Error).message}`));
      return;
    }
    if (rec.nexcage.pidStartTime !== undefined && readProcStat(rec.pid)?.startTime === rec.nexcage.pidStartTime) {
      try {
        process.kill(rec.pid, sig);
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
        started = running;
        await lock.drop();
      });
    } catch (e) {
      await delivering;
      await lock.retake();
      await creation.rollback(o.id, e);
      throw e;
    }
    await delivering;
    await lock.retake();
    await creation.rollback(o.id, undefined);
    return code;
  } finally {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    await lock.release();
  }
}
