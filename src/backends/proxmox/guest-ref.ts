import { existsSync } from "node:fs";
import { BackendError } from "../../errors.js";
import type { ContainerRecord } from "../../state/record.js";

/** The VMID a Proxmox backend stored in the record's ref at create. */
export function vmidOf(rec: ContainerRecord): number {
  const v = rec.nexcage.ref["vmid"];
  if (typeof v !== "number") throw new BackendError(`state of container ${rec.id} has no VMID`);
  return v;
}

/** `health` lines for the Proxmox CLIs a backend runs: whether each exists. */
export function toolsPresent(tools: ReadonlyArray<readonly [string, string]>): { ok: boolean; details: string[] } {
  const details = tools.map(([name, path]) => `${name}: ${existsSync(path) ? path : `${path} not found`}`);
  return { ok: tools.every(([, path]) => existsSync(path)), details };
}
