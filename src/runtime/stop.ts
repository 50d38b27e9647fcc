import type { Signal } from "../oci/signals.js";
import { StatusError } from "../errors.js";
import type { RuntimeCore } from "./core.js";
import { stopNeeded } from "./status.js";

const POLL_MS = 50;

/**
 * `stop`: `term` to the init, wait up to `timeoutSeconds` for the container to stop, then `kill`
 * to all its processes. The lock is held for each signal, not while waiting (the container's
 * status is read without it, as `state` does).
 */
export async function stopContainer(core: RuntimeCore, id: string, timeoutSeconds: number, term: Signal, kill: Signal): Promise<void> {
  const stopped = async () => {
    const rec = core.mustRead(id);
    return (await core.liveStatus(rec, false)).status === "stopped";
  };
  const signalled = await core.withLiveRecord(id, async (rec, live) => {
    if (!stopNeeded(id, live.status)) return false;
    await (await core.backend(rec.nexcage.backend)).kill(core.handle(rec), term, false);
    return true;
  });
  if (!signalled) return;
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if (await stopped()) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  await core.withLiveRecord(id, async (rec, live) => {
    if (live.status === "stopped") return;
    core.log.warn({ id }, `container ${id} did not stop within ${timeoutSeconds}s; sending SIGKILL`);
    await (await core.backend(rec.nexcage.backend)).kill(core.handle(rec), kill, true);
  });
  for (let i = 0; i < 100; i++) {
    if (await stopped()) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new StatusError(`container ${id} did not stop after SIGKILL`);
}
