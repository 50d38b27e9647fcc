import { proxmoxLxcSettingsSchema } from "../backends/proxmox-lxc/settings.js";
import { proxmoxVmSettingsSchema } from "../backends/proxmox-vm/settings.js";
import { imagesSettingsSchema } from "../images/settings.js";
import { BACKEND_NAMES } from "../backends/names.js";
import { idRegexProblem } from "./id-regex.js";
import {
  _default,
  array,
  enum as zEnum,
  extend,
  lazy,
  maximum,
  minLength,
  number,
  optional,
  positive,
  prefault,
  record,
  refine,
  strictObject,
  string,
  superRefine,
  type output,
  type input,
} from "zod/mini";

export { BACKEND_NAMES, type BackendName } from "../backends/names.js";

// zod/mini, not zod: the classic API binds every method onto every schema it builds, which cost
// ~20 ms of CPU per call. The schema is built on its first use (lazy), so a command that reads no
// config (state, list) never builds it (docs/performance.md).
function buildConfigSchema() {
  const absolutePath = string().check(
    minLength(1),
    refine((p: string) => p.startsWith("/") && !p.includes("\0"), { message: "must be an absolute path" }),
  );

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

  const seconds = (dflt: number) => _default(number().check(positive(), maximum(3600)), dflt);

  /**
   * One routing rule: every condition given must match; the first matching rule wins.
   * `id` is a glob over the whole id (`*` any run of characters, `?` one character), `idRegex` a
   * JavaScript regular expression searched in the id (unanchored: write `^...$` to match the whole id),
   * `annotations` maps bundle annotation keys to globs of their values.
   */
  const routingRuleSchema = strictObject({
    name: optional(string().check(minLength(1))),
    backend: backendName,
    id: optional(string().check(minLength(1))),
    idRegex: optional(regexSource),
    annotations: optional(record(string().check(minLength(1)), string())),
  }).check(
    refine((r) => r.id !== undefined || r.idRegex !== undefined || r.annotations !== undefined, {
      message: "a routing rule needs at least one of id, idRegex, annotations",
    }),
  );

  const ociCliBackend = (defaultPath: string) =>
    strictObject({
      /** The runtime binary. */
      path: _default(absolutePath, defaultPath),
      /** Seconds one call of the runtime may take before it is killed. */
      timeoutSeconds: seconds(60),
    });

  const crunBackendSchema = extend(ociCliBackend("/usr/bin/crun"), {
    /** auto: libcrun through FFI when it loads and passes its check, else the crun CLI. */
    driver: _default(zEnum(["auto", "libcrun", "cli"]), "auto"),
    libcrunPath: optional(absolutePath),
  });

  return strictObject({
    $schema: optional(string()),
    /** Backend used when no routing rule matches. */
    defaultBackend: _default(backendName, "crun"),
    routing: _default(array(routingRuleSchema), []),
    backends: prefault(
      strictObject({
        crun: prefault(crunBackendSchema, {}),
        runc: prefault(ociCliBackend("/usr/sbin/runc"), {}),
        "proxmox-lxc": prefault(proxmoxLxcSettingsSchema, {}),
        "proxmox-vm": prefault(
          proxmoxVmSettingsSchema.check(
            refine((s) => s.template === undefined || s.image === undefined, {
              message: "give either template (a VMID to clone) or image (a disk to import), not both",
            }),
          ),
          {},
        ),
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
