import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../config/schema.js";
import { BackendError } from "../errors.js";
import type { Logger } from "../log.js";
import { findStored, storedLocation } from "./stored-image.js";
import type { ImageEntry } from "./image-store.js";
import { pullImage } from "./pull.js";
import { TEMPLATE_EXTENSION, type ImageReference } from "./reference.js";
import { ociArchiveInfo } from "./tar-members.js";

/** Where the content of an image reference is on this host, ready to be unpacked or handed to pct. */
export interface ImageSource {
  /** archive: an OCI archive; layout: an OCI layout directory; template: a Proxmox rootfs template. */
  readonly kind: "archive" | "layout" | "template";
  readonly path: string;
  readonly tag?: string;
  /** The template storage volume, for images in template storage. */
  readonly volid?: string;
  /** What the user asked for, normalised (recorded with the container). */
  readonly reference: string;
  readonly digest?: string;
}

function fromEntry(e: ImageEntry, reference: string): ImageSource {
  return { kind: e.type === "oci" ? "archive" : "template", path: e.path, volid: e.volid, reference, ...(e.digest !== undefined ? { digest: e.digest } : {}) };
}

/**
 * Finds what a reference names: a template or pulled image in template storage (a registry image
 * is pulled first when it is not there yet), or an OCI layout or archive on disk.
 */
export async function resolveImageSource(cfg: Config, log: Logger, ref: ImageReference, input: string, o: { authFile?: string; progress: boolean }): Promise<ImageSource> {
  if (ref.kind === "path") {
    const path = resolve(ref.path);
    let dir: boolean;
    try {
      dir = statSync(path).isDirectory();
    } catch {
      throw new BackendError(`image ${input}: no such file or directory`);
    }
    if (ref.transport === "oci" && !dir) throw new BackendError(`image ${input}: an OCI layout is a directory`);
    if (ref.transport === "oci-archive" && dir) throw new BackendError(`image ${input}: an OCI archive is a file`);
    if (dir && !existsSync(resolve(path, "oci-layout"))) throw new BackendError(`image ${input}: not an OCI layout (no oci-layout file)`);
    if (!dir && ref.transport === "auto" && TEMPLATE_EXTENSION.test(path) && ociArchiveInfo(path) === undefined) {
      // a rootfs template given by its path (pct create takes absolute paths from root)
      return { kind: "template", path, volid: path, reference: path };
    }
    return { kind: dir ? "layout" : "archive", path, reference: path, ...(ref.tag !== undefined ? { tag: ref.tag } : {}) };
  }
  const stored = findStored(cfg, ref);
  if (stored) return fromEntry(stored, ref.kind === "registry" ? ref.normalized : stored.volid);
  if (ref.kind !== "registry") {
    const loc = storedLocation(cfg, ref);
    throw new BackendError(`can't find file '${loc.storage}:vztmpl/${loc.file}'`);
  }
  log.info({ reference: ref.normalized }, `image ${ref.normalized} is not in template storage: pulling it`);
  const pulled = await pullImage(cfg, log, ref, { authFile: o.authFile, progress: o.progress });
  return fromEntry(pulled, ref.normalized);
}
