import { readdirSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { TEMPLATE_EXTENSION } from "./reference.js";
import { ociArchiveInfo } from "./tar-members.js";

/** What nexcage records beside an archive it pulled (PVE ignores files without a template extension). */
export interface PullRecord {
  /** The normalised registry reference it was pulled from. */
  readonly reference: string;
  /** Digest of the image manifest stored in the archive (its index.json). */
  readonly digest: string;
  readonly pulled: string;
}

/** One template or pulled image in a storage's template directory. */
export interface ImageEntry {
  readonly storage: string;
  readonly volid: string;
  readonly file: string;
  readonly path: string;
  /** `oci` for an OCI archive (pulled by nexcage or by Proxmox), `template` for a rootfs template. */
  readonly type: "oci" | "template";
  readonly size: number;
  readonly modified: string;
  readonly reference?: string;
  readonly digest?: string;
}

export function pullRecordPath(dir: string, file: string): string {
  return join(dir, `.${file}.nexcage.json`);
}

export function readPullRecord(dir: string, file: string): PullRecord | undefined {
  try {
    const doc = JSON.parse(readFileSync(pullRecordPath(dir, file), "utf8")) as Partial<PullRecord>;
    if (typeof doc.reference === "string" && typeof doc.digest === "string" && typeof doc.pulled === "string") {
      return { reference: doc.reference, digest: doc.digest, pulled: doc.pulled };
    }
  } catch {
    // none, or unreadable: the archive is listed as a plain template
  }
  return undefined;
}

/** Written atomically (temp + rename) so a listing never reads half a record. */
export function writePullRecord(dir: string, file: string, rec: PullRecord): void {
  const path = pullRecordPath(dir, file);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(rec)}\n`, { mode: 0o644 });
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

export function entryFor(storage: string, dir: string, file: string): ImageEntry | undefined {
  const path = join(dir, file);
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (!st.isFile()) return undefined;
  const rec = readPullRecord(dir, file);
  const oci = rec ? { digest: rec.digest } : ociArchiveInfo(path);
  return {
    storage,
    volid: `${storage}:vztmpl/${file}`,
    file,
    path,
    type: oci ? "oci" : "template",
    size: st.size,
    modified: st.mtime.toISOString(),
    ...(rec ? { reference: rec.reference } : {}),
    ...(oci?.digest !== undefined ? { digest: oci.digest } : {}),
  };
}

/** Templates and pulled images in one storage's template directory, by file name (as `pveam list`). */
export function listTemplateDir(storage: string, dir: string): ImageEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return names
    .filter((n) => !n.startsWith(".") && TEMPLATE_EXTENSION.test(n))
    .sort()
    .map((n) => entryFor(storage, dir, n))
    .filter((e): e is ImageEntry => e !== undefined);
}

/** Removes an archive and its pull record. */
export function removeEntry(entry: ImageEntry): void {
  rmSync(entry.path, { force: true });
  rmSync(pullRecordPath(join(entry.path, ".."), entry.file), { force: true });
}
