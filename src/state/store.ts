import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../crash-point.js";
import { errnoText } from "../errno-text.js";
import { NexcageError } from "../errors.js";
import type { ContainerRecord } from "./record.js";
import { checkRecord } from "./record-check.js";

export const RECORD_FILE = "state.json";
const TEMP_PREFIX = `.${RECORD_FILE}.`;

/** A file-system failure as one line: what failed and why, in words. */
export function storeError(what: string, e: unknown): NexcageError {
  if (e instanceof NexcageError) return e;
  return new NexcageError(`${what}: ${errnoText(e)}`);
}

/** The record exists but cannot be read as one (truncated by a crash, edited by hand). */
export class CorruptRecordError extends NexcageError {}

/**
 * Container records under a root directory, one directory per id. Writes are atomic (temp file,
 * fsync, rename, fsync of the directory): a crash leaves the old record or the new one.
 * Callers hold the id's lock for every write.
 */
export class Store {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  ensureRoot(): void {
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o711 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR" || code === "EEXIST") throw new NexcageError(`root ${this.root} is not a directory`);
      throw storeError(`cannot create root ${this.root}`, e);
    }
  }

  /** The record, undefined when the container does not exist, CorruptRecordError when unreadable. */
  read(id: string): ContainerRecord | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), RECORD_FILE), "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw new NexcageError(`cannot read the state of container ${id}: ${code ?? (e as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new CorruptRecordError(`state of container ${id} is corrupt (use delete --force to remove it)`);
    }
    const record = checkRecord(doc);
    if (!record || record.id !== id) {
      throw new CorruptRecordError(`state of container ${id} is corrupt (use delete --force to remove it)`);
    }
    return record;
  }

  /** Creates the container's directory; false when it already exists. */
  makeDir(id: string): boolean {
    this.ensureRoot();
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
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
      throw e;
    }
    return names.sort();
  }
}
