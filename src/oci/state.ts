import type { ContainerRecord } from "../state/record.js";
import type { Status } from "../names.js";

/** The runtime-spec version nexcage's state documents follow. */
export const OCI_VERSION = "1.0.2";

/** What `state` prints: the OCI state, in runc's key order, with the live status and pid. */
export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export function ociState(rec: ContainerRecord, live: { status: Status; pid: number }): OciState {
  const doc: OciState = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: live.status === "stopped" ? 0 : live.pid,
    status: live.status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
  };
  if (rec.annotations && Object.keys(rec.annotations).length > 0) doc.annotations = rec.annotations;
  return doc;
}
