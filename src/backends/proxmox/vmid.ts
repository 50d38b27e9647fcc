import { BackendError } from "../../errors.js";
import { parseNextId } from "./pve-output.js";

export interface VmidSource {
  /** A configured range, tried in order. */
  readonly range?: { readonly min: number; readonly max: number };
  /** Runs `pvesh get /cluster/nextid` and returns its stdout. */
  readonly nextId: () => Promise<string>;
}

/**
 * Candidate VMIDs: a configured range in order, else whatever Proxmox's nextid says each time.
 * nextid reserves nothing; the create itself is the reservation, so callers retry on "taken".
 */
export async function* vmidCandidates(src: VmidSource): AsyncGenerator<number> {
  if (src.range) {
    for (let v = src.range.min; v <= src.range.max; v++) yield v;
    throw new BackendError(`create failed: no free VMID in ${src.range.min}-${src.range.max}`);
  }
  for (;;) {
    const text = await src.nextId();
    const id = parseNextId(text);
    if (id === undefined) throw new BackendError(`create failed: pvesh printed no VMID (${JSON.stringify(text.trim())})`);
    yield id;
  }
}

/**
 * Runs `attempt` with candidate VMIDs until one is not taken by another guest (the create raced
 * with someone else's): every VMID of a configured range, else at most `maxTries` answers of nextid.
 * Any other failure ends the search.
 */
export async function withFreeVmid(
  src: VmidSource,
  attempt: (vmid: number) => Promise<void>,
  isTaken: (e: unknown) => boolean,
  maxTries = 20,
): Promise<number> {
  let tries = 0;
  for await (const candidate of vmidCandidates(src)) {
    try {
      await attempt(candidate);
      return candidate;
    } catch (e) {
      if (!isTaken(e) || (!src.range && ++tries >= maxTries)) throw e;
    }
  }
  throw new BackendError("create failed: no VMID");
}
