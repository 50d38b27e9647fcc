import { z } from "zod";
import { BACKEND_NAMES } from "../config/schema.js";
import { STATUSES } from "../runtime/status.js";

/**
 * What nexcage keeps per container in <root>/<id>/state.json: the OCI state fields plus a `nexcage`
 * object saying which backend owns it, how to find it there, and which process is its init.
 */
export const recordSchema = z.object({
  ociVersion: z.string(),
  id: z.string(),
  status: z.enum(STATUSES),
  pid: z.number().int().nonnegative(),
  bundle: z.string(),
  rootfs: z.string(),
  created: z.string(),
  owner: z.string(),
  annotations: z.record(z.string(), z.string()).optional(),
  nexcage: z.object({
    backend: z.enum(BACKEND_NAMES),
    /** What the backend needs to find the container again (runtime root, VMID, ...). */
    ref: z.record(z.string(), z.unknown()),
    /** Why this backend: "defaultBackend", "routing rule web", "annotation org.nexcage.backend". */
    routeReason: z.string(),
    /** /proc/<pid>/stat start time of the init process; a pid whose start time differs is not ours. */
    pidStartTime: z.string().optional(),
    /** The config file the container was created under. */
    configSource: z.string(),
    /** The nexcage process that wrote the `creating` record; while it lives, the create is in progress. */
    creator: z.object({ pid: z.number().int().positive(), startTime: z.string() }).optional(),
  }),
});

export type ContainerRecord = z.infer<typeof recordSchema>;
