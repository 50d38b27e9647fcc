import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync, type Stats } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../crash-point.js";
import { errnoText } from "../errno-text.js";
import { NexcageError } from "../errors.js";
import { FileReadError, readRegularFile } from "../regular-file.js";
import type { ContainerRecord } from "./record.js";
import { checkRecord } from "./record-check.js";
import { checkTrustedPath, trustProblem } from "./trust.js";

export const RECORD_FILE = "state.json";
const TEMP_PREFIX = `.${RECORD_FILE}.`;

/** Largest record read: the bundle's config.json (annotations) is bounded by 4 MiB (src/oci/bundle.ts). */
export const RECORD_SIZE_LIMIT = 8 * 1024 * 1024;

/** A file-system failure as one line: what failed and why, in words. */
export function storeError(what: string, e: unknown): NexcageError {
  if (e instanceof NexcageError) return e;
  return new NexcageError(`${what}: ${errnoText(e)}`);
}

/** The record exists but cannot be read as one (truncated by a crash, edited by hand, not a file). */
export class CorruptRecordError extends NexcageError {}

const corrupt = (id: string, why: string) => new CorruptRecordError(`state of container ${id} ${why} (use delete --force to remove it)`);

/**
 * Container records under a root directory, one directory per id. Writes are atomic (temp file,
 * fsync, rename, fsync of the directory): a crash leaves the old record or the new one.
 * Callers hold the id's lock for every write.
 *
 * The root and every record directory must be owned by root (or the caller) and writable by no
 * one else (src/state/trust.ts): an existing root that is not is refused at once, a record
 * directory that is not is read as a corrupt record. Roots are made 0700, as runc does.
 */
export class Store {
  constructor(readonly root: string) {
    checkTrustedPath(root, "directory", `root ${root}`, true);
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  ensureRoot(): void {
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR" || code === "EEXIST") throw new NexcageError(`root ${this.root} is not a directory`);
      throw storeError(`cannot create root ${this.root}`, e);
    }
    // it may have existed already: as trusted as one made just now, or refused
    checkTrustedPath(this.root, "directory", `root ${this.root}`, true);
  }

  /**
   * The record, undefined when the container does not exist, CorruptRecordError when it cannot be
   * read as one (not a regular file, a symlink, too large, not JSON, an untrusted directory).
   */
  read(id: string): ContainerRecord | undefined {
    const dir = this.dir(id);
    let st: Stats;
    try {
      st = lstatSync(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw storeError(`cannot read the state of container ${id}`, e);
    }
    if (!st.isDirectory()) return undefined;
    const untrusted = trustProblem(st, "directory", process.geteuid?.() ?? 0);
    if (untrusted) throw corrupt(id, `is not trusted: its directory ${untrusted}`);
    let text: string;
    try {
      text = readRegularFile(join(dir, RECORD_FILE), { limit: RECORD_SIZE_LIMIT, followSymlink: false });
    } catch (e) {
      if (!(e instanceof FileReadError)) throw e;
      if (e.code === "ENOENT" || e.code === "ENOTDIR") return undefined;
      if (e.code === "EACCES" || e.code === "EPERM") throw new NexcageError(`cannot read the state of container ${id}: ${e.reason}`);
      throw corrupt(id, `is unreadable: ${RECORD_FILE} ${e.reason}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw corrupt(id, "is corrupt");
    }
    const record = checkRecord(doc);
    if (!record || record.id !== id) throw corrupt(id, "is corrupt");
    return record;
  }

  /** Creates the container's directory; false when it already exists. */
  makeDir(id: string): boolean {
    this.ensureRoot();
    try {
      mkdirSync(this.dir(id), { mode: 0o700 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw storeError(`cannot create ${this.dir(id)}`, e);
    }
  }

  /** Replaces the record atomically; a failure (full or read-only file system) leaves the old one. */
  write(record: ContainerRecord): void {
    const dir = this.dir(record.id);
    const target = join(dir, RECORD_FILE);
    const temp = join(dir, `${TEMP_PREFIX}${process.pid}.tmp`);
    try {
      const fd = openSync(temp, "w", 0o600);
      try {
        writeSync(fd, JSON.stringify(record));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      crashPoint("store:temp-written");
      renameSync(temp, target);
    } catch (e) {
      rmSync(temp, { force: true });
      throw storeError(`cannot write the state of container ${record.id}`, e);
    }
    const dirFd = openSync(dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.removeStaleTemps(dir);
  }

  /** Temp files of writers that crashed before their rename (the caller holds the id's lock). */
  private removeStaleTemps(dir: string): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) if (name.startsWith(TEMP_PREFIX)) rmSync(join(dir, name), { force: true });
  }

  /** Removes the container's directory and everything in it. */
  remove(id: string): void {
    try {
      rmSync(this.dir(id), { recursive: true, force: true });
    } catch (e) {
      throw storeError(`cannot remove ${this.dir(id)}`, e);
    }
  }

  /** Ids with a directory under the root, sorted. Entries that are not valid ids are skipped. */
  ids(isValidId: (name: string) => boolean): string[] {
    let names: string[];
    try {
      names = readdirSync(this.root, { withFileTypes: true })
        .filter((d) => d.isDirectory() && isValidId(d.name))
        .map((d) => d.name);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return [];
      if (code === "ENOTDIR") throw new NexcageError(`root ${this.root} is not a directory`);
      throw storeError(`cannot read root ${this.root}`, e);
    }
    return names.sort();
  }
}
