import { crunSettingsSchema } from "../backends/crun/settings.js";
import { proxmoxLxcSettingsSchema } from "../backends/proxmox-lxc/settings.js";
import { proxmoxVmSettingsSchema } from "../backends/proxmox-vm/settings.js";
import { runcSettingsSchema } from "../backends/runc/settings.js";
import { imagesSettingsSchema } from "../images/settings.js";
import { BACKEND_NAMES } from "../names.js";
import { _default, array, enum as zEnum, lazy, minLength, optional, prefault, record, refine, strictObject, string, superRefine, type output, type input } from "zod/mini";
import { seconds } from "./values.js";
import { idRegexProblem } from "./id-regex.js";

// zod/mini, not zod: the classic API binds every method onto every schema it builds, which cost
// ~20 ms of CPU per call. The schema is built on its first use (lazy), so a command that reads no
// config (state, list) never builds it (docs/performance.md).
function buildConfigSchema() {
  const backendName = zEnum(BACKEND_NAMES);

  const regexSource = string().check(
    minLength(1),
    superRefine((src: string, ctx) => {
      try {
        new RegExp(src);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: `invalid regular expression: ${(e as Error).message}` });
        return;
      }
      const problem = idRegexProblem(src);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  );

  /**
   * One routing rule: every condition given must match; the first matching rule wins.
   * `id` is a glob over the whole id (`*` any run of characters, `?` one character), `idRegex` a
   * JavaScript regular expression searched in the id (unanchored: write `^...$` to match the whole id),
   * `annotations` maps bundle annotation keys to globs of their values, `root` is a glob over the
   * absolute `--root` nexcage was called with (containerd's runtime entry sets it: one per RuntimeClass).
   */
  const routingRuleSchema = strictObject({
    name: optional(string().check(minLength(1))),
    backend: backendName,
    id: optional(string().check(minLength(1))),
    idRegex: optional(regexSource),
    annotations: optional(record(string().check(minLength(1)), string())),
    root: optional(string().check(minLength(1))),
  }).check(
    refine((r) => r.id !== undefined || r.idRegex !== undefined || r.annotations !== undefined || r.root !== undefined, {
      message: "a routing rule needs at least one of id, idRegex, annotations, root",
    }),
  );

  return strictObject({
    $schema: optional(string()),
    /** Backend used when no routing rule matches. */
    defaultBackend: _default(backendName, "crun"),
    routing: _default(array(routingRuleSchema), []),
    // each backend's settings schema lives in its own folder
    backends: prefault(
      strictObject({
        crun: prefault(crunSettingsSchema, {}),
        runc: prefault(runcSettingsSchema, {}),
        "proxmox-lxc": prefault(proxmoxLxcSettingsSchema, {}),
        "proxmox-vm": prefault(proxmoxVmSettingsSchema, {}),
      }),
      {},
    ),
    /** Image pulls (pull, images, rmi, create --image). */
    images: prefault(imagesSettingsSchema, {}),
    /** Seconds an operation waits for another one on the same container before giving up. */
    lockTimeoutSeconds: seconds(60),
  });
}

export const configSchema = lazy(buildConfigSchema);

export type Config = output<typeof configSchema>;
export type ConfigInput = input<typeof configSchema>;
export type RoutingRule = Config["routing"][number];
