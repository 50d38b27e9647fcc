import { renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileReadError, readRegularFile } from "../regular-file.js";
import { checkTrustedPath, UntrustedError } from "../state/trust.js";
import { sha256Hex } from "../sha256.js";
import type { Config } from "./schema.js";

/**
 * The validated config of the last call, kept in the root: validating the config with zod costs
 * about 10 ms of CPU per call under Bun, and most calls read the same file again
 * (docs/performance.md). An entry is reused only for the same build (source id), the same file
 * and the same text, byte for byte, so the result is what validation would give: the text is
 * read and compared on every call, and a changed file, even one rewritten within the same second
 * at the same size, is validated again. Failures are never kept.
 *
 * The cache is trusted only as far as the root is: the root and the file must be owned by root (or
 * the caller) and writable by no one else, or the call is refused (src/state/trust.ts). An entry
 * carries the SHA-256 of what it holds (build, source, text and config), written with it after
 * validation: an entry whose config was changed afterwards (edited by hand, written by another
 * tool, cut short) does not match its stamp and is a miss, so the config file is validated again
 * and decides; it never gives an internal error or a hang (docs/reliability.md). The stamp is no
 * secret: who can write the root can forge one, and could as well edit the config file itself.
 * Checking the stamp costs a hash of a few KB instead of building the config schema again
 * (3-4 ms of CPU per call under Bun, docs/performance.md).
 */
export interface ConfigMemo {
  get(source: string, text: string | undefined): Config | undefined;
  put(source: string, text: string | undefined, config: Config): void;
}

/** Not a valid container id ("@"), so it can never be taken for a container's directory. */
export const CONFIG_CACHE_FILE = "config@cache.json";

interface Entry {
  readonly build: string;
  readonly source: string;
  /** null: no file, the built-in defaults. */
  readonly text: string | null;
  readonly config: Config;
  /** entryStamp of the four fields above. */
  readonly stamp: string;
}

/** Pure: the stamp of an entry's contents, as the JSON text they are kept as. */
export function entryStamp(build: string, source: string, text: string | null, config: unknown): string {
  return sha256Hex(JSON.stringify([build, source, text, config]));
}

/** The cached config when `entry` was made by this build from this exact text, and is what was written then (its stamp). */
export function cachedConfig(entry: unknown, build: string, source: string, text: string | undefined): Config | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const e = entry as Partial<Entry>;
  if (e.build !== build || e.source !== source || e.text !== (text ?? null)) return undefined;
  if (typeof e.config !== "object" || e.config === null || Array.isArray(e.config)) return undefined;
  if (typeof e.stamp !== "string" || e.stamp !== entryStamp(build, source, e.text, e.config)) return undefined;
  return e.config;
}

/** Largest cache file read: the entry holds the config text and the validated config. */
const CACHE_SIZE_LIMIT = 4 * 1024 * 1024;

/**
 * The memo in `root` for this build; a root that does not exist or cannot be written just misses.
 * A root or cache file someone else could have written is refused (one line, non-zero).
 */
export function rootConfigMemo(root: string, build: string): ConfigMemo {
  const file = join(root, CONFIG_CACHE_FILE);
  return {
    get(source, text) {
      try {
        if (!checkTrustedPath(root, "directory", `root ${root}`, true)) return undefined;
        if (!checkTrustedPath(file, "file", `config cache ${file}`)) return undefined;
      } catch (e) {
        // not a directory, not a file (a fifo, a symlink): nothing usable, so a miss; the store
        // reports a root that is not a directory. Someone else's writable root or file: refused.
        if (e instanceof UntrustedError && e.wrongType) return undefined;
        throw e;
      }
      let doc: unknown;
      try {
        doc = JSON.parse(readRegularFile(file, { limit: CACHE_SIZE_LIMIT, followSymlink: false }));
      } catch (e) {
        if (e instanceof FileReadError || e instanceof SyntaxError) return undefined;
        throw e;
      }
      return cachedConfig(doc, build, source, text);
    },
    put(source, text, config) {
      const entry: Entry = { build, source, text: text ?? null, config, stamp: entryStamp(build, source, text ?? null, config) };
      const temp = `${file}.${process.pid}.tmp`;
      try {
        writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
        renameSync(temp, file);
      } catch {
        try {
          rmSync(temp, { force: true });
        } catch {
          // the root is not a directory: nothing was written
        }
      }
    },
  };
}
