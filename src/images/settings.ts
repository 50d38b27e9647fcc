import { _default, array, lazy, maximum, number, optional, positive, regex, strictObject, string, type output } from "zod/mini";
import { storageId } from "../backends/proxmox/pve-schema.js";
import { absolutePath } from "../config/values.js";

/** Built on first use, like the config schema it is part of (zod/mini: docs/performance.md). */
function buildImagesSettingsSchema() {
  const path = absolutePath();
  const registryHost = string().check(regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/, "a registry host[:port]"));

  return strictObject({
    /** Proxmox's storage configuration, read to find a storage's template directory. */
    storageConfig: _default(path, "/etc/pve/storage.cfg"),
    /** Default storage for pull/images/rmi/create --image (default: backends."proxmox-lxc".templateStorage). */
    storage: optional(storageId()),
    /** Registry credentials (containers-auth.json); default: skopeo's own lookup ($REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json, ~/.docker/config.json). */
    authFile: optional(path),
    /** Registries reached over plain HTTP or with unverified TLS (`host[:port]`). */
    insecureRegistries: _default(array(registryHost), []),
    skopeo: _default(path, "/usr/bin/skopeo"),
    umoci: _default(path, "/usr/bin/umoci"),
    /** Seconds one pull or unpack may take. */
    timeoutSeconds: _default(number().check(positive(), maximum(86400)), 900),
  });
}

/** `images` in the config file: where pulled images and templates live, and the tools that fetch them. */
export const imagesSettingsSchema = lazy(buildImagesSettingsSchema);

export type ImagesSettings = output<typeof imagesSettingsSchema>;
