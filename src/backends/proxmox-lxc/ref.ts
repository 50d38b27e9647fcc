import type { GuestRef } from "../proxmox/guest-backend.js";
import type { AttachRecord } from "./attach/attached.js";

/**
 * The CT's VMID, the template it was made from, the archive packed from the bundle (removed with
 * the CT), and for a CT created attached (under containerd's shim) its directory on the node and proxy.
 */
export interface LxcRef extends GuestRef {
  readonly template: string;
  readonly archive?: string;
  readonly attach?: AttachRecord;
}
