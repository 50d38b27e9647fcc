import { proxmoxLxcSettingsSchema } from "../backends/proxmox-lxc/settings.js";
import { proxmoxVmSettingsSchema } from "../backends/proxmox-vm/settings.js";
import { imagesSettingsSchema } from "../images/settings.js";
import { array, enum as zEnum, number, record, strictObject, string, type output, type input } from "zod";

export const BACKEND_NAMES = ["crun", "runc", "proxmox-lxc", "proxmox-vm"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

const absolutePath = string().min(1).refine((p) => p.startsWith("/") && !p.includes("\0"), {
  message: "must be an absolute path",
});

const backendName = zEnum(BACKEND_NAMES);

const regexSource = string().min(1).superRefine((src, ctx) => {
  try {
    new RegExp(src);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `invalid regular expression: ${(e as Error).message}` });
  }
});

/**
 * One routing rule: every condition given must match; the first matching rule wins.
 * `id` is a glob over the whole id (`*` any run of characters, `?` one character), `idRegex` a
 * JavaScript regular expression searched in the id (unanchored: write `^...$` to match the whole id),
 * `annotations` maps bundle annotation keys to globs of their values.
 */
export const routingRuleSchema = strictObject({
    name: string().min(1).optional(),
    backend: backendName,
    id: string().min(1).optional(),
    idRegex: regexSource.optional(),
    annotations: record(string().min(1), string()).optional(),
  })
  .refine((r) => r.id !== undefined || r.idRegex !== undefined || r.annotations !== undefined, {
    message: "a routing rule needs at least one of id, idRegex, annotations",
  });

const ociCliBackend = (defaultPath: string) =>
  strictObject({
    /** The runtime binary. */
    path: absolutePath.default(defaultPath),
    /** Seconds one call of the runtime may take before it is killed. */
    timeoutSeconds: number().positive().max(3600).default(60),
  });

export const crunBackendSchema = ociCliBackend("/usr/bin/crun").extend({
  /** auto: libcrun through FFI when it loads and passes its check, else the crun CLI. */
  driver: zEnum(["auto", "libcrun", "cli"]).default("auto"),
  libcrunPath: absolutePath.optional(),
});

export const runcBackendSchema = ociCliBackend("/usr/sbin/runc");

export const configSchema = strictObject({
  $schema: string().optional(),
  /** Backend used when no routing rule matches. */
  defaultBackend: backendName.default("crun"),
  routing: array(routingRuleSchema).default([]),
  backends: strictObject({
      crun: crunBackendSchema.prefault({}),
      runc: runcBackendSchema.prefault({}),
      "proxmox-lxc": proxmoxLxcSettingsSchema.prefault({}),
      "proxmox-vm": proxmoxVmSettingsSchema.refine((s) => s.template === undefined || s.image === undefined, {
        message: "give either template (a VMID to clone) or image (a disk to import), not both",
      }).prefault({}),
    })
    .prefault({}),
  /** Image pulls (pull, images, rmi, create --image). */
  images: imagesSettingsSchema.prefault({}),
  /** Seconds an operation waits for another one on the same container before giving up. */
  lockTimeoutSeconds: number().positive().max(3600).default(60),
});

export type Config = output<typeof configSchema>;
export type ConfigInput = input<typeof configSchema>;
export type RoutingRule = output<typeof routingRuleSchema>;
