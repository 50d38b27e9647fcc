import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../config/schema.js";
import { run } from "../exec/run.js";
import { BackendError } from "../errors.js";
import type { Logger } from "../log.js";
import { findStored, storedLocation } from "./find.js";
import { readPullRecord, type ImageEntry } from "./image-store.js";
import { pullImage } from "./pull.js";
import type { ImageReference } from "./reference.js";

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

/** An OCI archive is a tar holding `oci-layout` and `index.json` (how pve-container tells it from a rootfs template). */
async function isOciArchive(path: string): Promise<boolean> {
  if (!/\.tar$/i.test(path)) return false;
  const r = await run("tar", ["--list", "--file", path, "--occurrence=1", "oci-layout", "index.json"], { timeoutMs: 60_000 });
  return r.exitCode === 0;
}

async function fromEntry(e: ImageEntry, reference: string): Promise<ImageSource> {
  const oci = e.type === "oci" || readPullRecord(resolve(e.path, ".."), e.file) !== undefined || (await isOciArchive(e.path));
  return { kind: oci ? "archive" : "template", path: e.path, volid: e.volid, reference, ...(e.digest !== undefined ? { digest: e.digest } : {}) };
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
