import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { NexcageError } from "../errors.js";
import { recordSchema, type ContainerRecord } from "./record.js";

export const RECORD_FILE = "state.json";

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
      throw new NexcageError(`cannot create root ${this.root}: ${code ?? (e as Error).message}`);
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
    const parsed = recordSchema.safeParse(doc);
    if (!parsed.success || parsed.data.id !== id) {
      throw new CorruptRecordError(`state of container ${id} is corrupt (use delete --force to remove it)`);
    }
    return parsed.data;
  }

  /** Creates the container's directory; false when it already exists. */
  makeDir(id: string): boolean {
    this.ensureRoot();
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e;
    }
  }

  write(record: ContainerRecord): void {
    const dir = this.dir(record.id);
    const target = join(dir, RECORD_FILE);
    const temp = join(dir, `.${RECORD_FILE}.${process.pid}.tmp`);
    const fd = openSync(temp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(record));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, target);
    } catch (e) {
      rmSync(temp, { force: true });
      throw e;
    }
    const dirFd = openSync(dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  /** Removes the container's directory and everything in it. */
  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
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
