import { renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { run } from "../../exec/run.js";
import { BackendError, oneLine } from "../../errors.js";

/** A template file name Proxmox accepts for `<storage>:vztmpl/<file>`, unique per create. */
export function templateFileName(id: string, now = Date.now()): string {
  return `nexcage-${id.replace(/[^A-Za-z0-9_.-]/g, "_")}-${now.toString(36)}.tar`;
}

/** Where `packRootfs` writes the archive before renaming it to `archive`. */
export function partialArchive(archive: string): string {
  return join(dirname(archive), `.${basename(archive)}.partial`);
}

/**
 * Packs the bundle's root filesystem into a template archive in the template storage's directory,
 * keeping modes, owners (numeric), ACLs, xattrs and device nodes. Written under a temporary name
 * and renamed, so Proxmox never sees half an archive.
 */
export async function packRootfs(rootfs: string, templateDir: string, fileName: string, timeoutMs: number): Promise<string> {
  const target = join(templateDir, fileName);
  const temp = partialArchive(target);
  const r = await run(
    "tar",
    ["--create", "--file", temp, "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "--one-file-system", "--directory", rootfs, "."],
    { timeoutMs },
  );
  if (r.exitCode !== 0) {
    rmSync(temp, { force: true });
    throw new BackendError(`create failed: cannot pack ${rootfs} into ${templateDir}: ${oneLine(r.stderr || r.spawnError?.message || `exit status ${r.exitCode}`)}`);
  }
  renameSync(temp, target);
  return target;
}
