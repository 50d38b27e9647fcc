import { accessSync, constants, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import { BackendError, InvalidArgumentError } from "../errors.js";
import type { Logger } from "../log.js";
import { entryFor, readPullRecord, writePullRecord, type ImageEntry } from "./image-store.js";
import { resolveStorage } from "./template-storage.js";
import { archiveFileName, parseImageReference, type RegistryReference } from "./reference.js";
import { pullError } from "./skopeo-errors.js";
import { dockerSource, skopeoCopy } from "./skopeo.js";

export interface PullOptions {
  /** Template storage id (default: images.storage, else the proxmox-lxc template storage). */
  readonly storage?: string;
  /** containers-auth.json with registry credentials (default: images.authFile, else skopeo's lookup). */
  readonly authFile?: string;
  /** Show skopeo's progress on stderr. */
  readonly progress: boolean;
}

/** A registry reference, or a clear refusal for the other kinds. */
export function registryReference(input: string): RegistryReference {
  const ref = parseImageReference(input);
  if (ref.kind === "registry") return ref;
  const what = ref.kind === "path" ? "a local OCI image path" : "a Proxmox template";
  throw new InvalidArgumentError(`pull needs a registry reference; ${JSON.stringify(input)} is ${what}`);
}

/** The auth file to hand skopeo, checked to be readable (its content is never read or logged here). */
export function checkedAuthFile(cfg: Config, flag?: string): string | undefined {
  const file = flag ?? cfg.images.authFile;
  if (file === undefined) return undefined;
  try {
    accessSync(file, constants.R_OK);
  } catch (e) {
    throw new InvalidArgumentError(`auth file ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "not readable"}`);
  }
  return file;
}

/**
 * Pulls a registry image into a template storage as an OCI archive named as Proxmox VE names it
 * (`nginx_1.27.tar`), written under a temporary name and renamed, with its digest recorded beside it.
 * A failure leaves nothing behind. Re-pulling the same reference replaces the archive; a file of
 * that name from another reference (or not pulled by nexcage) is never overwritten.
 */
export async function pullImage(cfg: Config, log: Logger, ref: RegistryReference, o: PullOptions): Promise<ImageEntry> {
  const storage = resolveStorage(cfg, o.storage);
  const authFile = checkedAuthFile(cfg, o.authFile);
  const file = archiveFileName(ref);
  const target = join(storage.dir, file);
  if (existsSync(target)) {
    const rec = readPullRecord(storage.dir, file);
    if (rec?.reference !== ref.normalized) {
      throw new BackendError(`refusing to override existing file '${file}' in storage '${storage.id}'${rec ? ` (pulled from ${rec.reference})` : ""}`);
    }
  }
  try {
    mkdirSync(storage.dir, { recursive: true });
  } catch (e) {
    throw new BackendError(`storage '${storage.id}': cannot create ${storage.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  removeStaleTemporaries(storage.dir, file);
  const temp = `${target}.tmp.${process.pid}`;
  const digestFile = join(storage.dir, `.${file}.digest.${process.pid}`);
  log.info({ reference: ref.normalized, storage: storage.id }, `pulling ${ref.normalized} into ${storage.id}:vztmpl/${file}`);
  try {
    const r = await skopeoCopy(
      cfg.images,
      { source: dockerSource(ref), destination: `oci-archive:${temp}`, registry: ref.registry, authFile, digestFile, progress: o.progress },
      log,
    );
    if (!r.ok || r.digest === undefined) throw pullError(ref.normalized, ref.registry, storage.id, r.stderr);
    renameSync(temp, target);
    try {
      writePullRecord(storage.dir, file, { reference: ref.normalized, digest: r.digest, pulled: new Date().toISOString() });
    } catch (e) {
      rmSync(target, { force: true });
      throw (e as NodeJS.ErrnoException).code === "ENOSPC" ? pullError(ref.normalized, ref.registry, storage.id, "no space left on device") : e;
    }
  } finally {
    rmSync(temp, { force: true });
    rmSync(digestFile, { force: true });
  }
  const entry = entryFor(storage.id, storage.dir, file);
  if (!entry) throw new BackendError(`pull ${ref.normalized}: ${target} vanished after the pull`);
  return entry;
}

/** What a pull killed midway left (`<file>.tmp.<pid>`, `.<file>.digest.<pid>`), once its process is gone. */
function removeStaleTemporaries(dir: string, file: string): void {
  for (const name of readdirSync(dir)) {
    const m = name.startsWith(`${file}.tmp.`) ? name.slice(file.length + 5) : name.startsWith(`.${file}.digest.`) ? name.slice(file.length + 9) : undefined;
    if (m === undefined || !/^[0-9]+$/.test(m) || processAlive(Number(m))) continue;
    rmSync(join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
