import { runTool } from "../proxmox/run-tool.js";
import type { Logger } from "../../log.js";
import { exitCodeOf, STATUS_DISK_KEY } from "./exit-status.js";
import { qmError } from "./qm-errors.js";

/** The status disk's volume id in a `qm config` listing (`virtio15: <volid>,serial=…,size=…`). */
export function statusVolume(config: string): string | undefined {
  const m = new RegExp(`^${STATUS_DISK_KEY}: ([^,\\s]+)`, "m").exec(config);
  return m?.[1];
}

/**
 * The exit code the guest recorded on the status disk, read with `pvesm export <volid> raw+size -`
 * (which activates the volume whatever the storage). undefined when it holds no record.
 */
export async function readExitCode(tools: { pvesm: string; timeoutMs: number; log: Logger }, volid: string): Promise<number | undefined> {
  const out = await runTool({ backend: "proxmox-vm", name: "pvesm", file: tools.pvesm, timeoutMs: tools.timeoutMs, log: tools.log }, ["export", volid, "raw+size", "-", "--with-snapshots", "0"], (stderr, code) => qmError("state failed", stderr, code));
  return exitCodeOf(out);
}
