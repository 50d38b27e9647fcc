import { enum as zEnum, int, lazy, nonnegative, number, object, optional, positive, record, string, union, unknown, type output } from "zod/mini";
import { BACKEND_NAMES, STATUSES } from "../names.js";

/**
 * What nexcage keeps per container in <root>/<id>/state.json: the OCI state fields plus a `nexcage`
 * object saying which backend owns it, how to find it there, and which process is its init.
 */
export const recordSchema = lazy(() =>
  object({
  ociVersion: string(),
  id: string(),
  status: zEnum(STATUSES),
  pid: int().check(nonnegative()),
  bundle: string(),
  rootfs: string(),
  created: string(),
  owner: string(),
  annotations: optional(record(string(), string())),
  nexcage: object({
    backend: zEnum(BACKEND_NAMES),
    /** What the backend needs to find the container again (runtime root, VMID, ...). */
    ref: record(string(), unknown()),
    /** Why this backend: "defaultBackend", "routing rule web", "annotation org.nexcage.backend". */
    routeReason: string(),
    /** /proc/<pid>/stat start time of the init process; a pid whose start time differs is not ours. */
    pidStartTime: optional(string()),
    /** The config file the container was created under. */
    configSource: string(),
    /** The image a `create --image` made the container from (`rmi` refuses to remove it while this record exists). */
    image: optional(object({ reference: string(), volid: optional(string()), digest: optional(string()) })),
    /** A pod's container placed beside its sandbox: the sandbox's id and where it runs (e.g. its VMID). */
    pod: optional(record(string(), union([string(), number()]))),
    /** The nexcage process that wrote the `creating` record; while it lives, the create is in progress. */
    creator: optional(object({ pid: int().check(positive()), startTime: string() })),
  }),
  }),
);

export type ContainerRecord = output<typeof recordSchema>;
