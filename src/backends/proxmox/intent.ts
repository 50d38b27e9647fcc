import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configIsFor } from "./guest-names.js";

/**
 * What a Proxmox create is about to make (VMID, files), written to `<root>/<id>/<file>` before it
 * makes it, so a crash can always be cleaned up from the id alone.
 */
export interface Intent {
  vmid?: number;
  /** Files on the node that the create writes (template archive, cloud-init snippet). */
  files?: string[];
}

export function writeIntent(dir: string, file: string, intent: Intent): void {
  writeFileSync(join(dir, file), JSON.stringify(intent));
}

export function readIntent(dir: string, file: string): Intent {
  try {
    return JSON.parse(readFileSync(join(dir, file), "utf8")) as Intent;
  } catch {
    return {};
  }
}

/**
 * Removes what a create of `id` left: the guest only if its config (`<confDir>/<vmid>.conf`) names
 * that id in its description (the VMID may have been someone else's when the create failed), then
 * the files.
 */
export async function purgeIntent(id: string, intent: Intent, confDir: string, destroy: (vmid: number) => Promise<void>): Promise<void> {
  if (intent.vmid !== undefined && guestIsFor(confDir, intent.vmid, id)) await destroy(intent.vmid);
  for (const f of intent.files ?? []) rmSync(f, { force: true });
}

/** Whether the guest config `<confDir>/<vmid>.conf` exists and was made for the OCI id. */
export function guestIsFor(confDir: string, vmid: number, id: string): boolean {
  try {
    return configIsFor(readFileSync(join(confDir, `${vmid}.conf`), "utf8"), id);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}
