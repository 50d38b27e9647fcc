import { array, number, strictObject, string, type output } from "zod";

const absolutePath = string().min(1).refine((p) => p.startsWith("/") && !p.includes("\0"), { message: "must be an absolute path" });
const storageId = string().regex(/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i, "not a valid Proxmox storage id");
const registryHost = string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/, "a registry host[:port]");

/** `images` in the config file: where pulled images and templates live, and the tools that fetch them. */
export const imagesSettingsSchema = strictObject({
  /** Proxmox's storage configuration, read to find a storage's template directory. */
  storageConfig: absolutePath.default("/etc/pve/storage.cfg"),
  /** Default storage for pull/images/rmi/create --image (default: backends."proxmox-lxc".templateStorage). */
  storage: storageId.optional(),
  /** Registry credentials (containers-auth.json); default: skopeo's own lookup ($REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json, ~/.docker/config.json). */
  authFile: absolutePath.optional(),
  /** Registries reached over plain HTTP or with unverified TLS (`host[:port]`). */
  insecureRegistries: array(registryHost).default([]),
  skopeo: absolutePath.default("/usr/bin/skopeo"),
  umoci: absolutePath.default("/usr/bin/umoci"),
  /** Seconds one pull or unpack may take. */
  timeoutSeconds: number().positive().max(86400).default(900),
});

export type ImagesSettings = output<typeof imagesSettingsSchema>;
