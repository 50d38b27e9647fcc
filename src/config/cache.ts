import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "./schema.js";

/**
 * The validated config of the last call, kept in the root: validating the config with zod costs
 * about 10 ms of CPU per call under Bun, and most calls read the same file again
 * (docs/performance.md). An entry is reused only for the same build (source id), the same file
 * and the same text, byte for byte, so the result is what validation would give: the text is
 * read and compared on every call, and a changed file, even one rewritten within the same second
 * at the same size, is validated again. Failures are never kept.
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
}

/** Pure: the cached config when `entry` was made by this build from this exact text. */
export function cachedConfig(entry: unknown, build: string, source: string, text: string | undefined): Config | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const e = entry as Partial<Entry>;
  if (e.build !== build || e.source !== source || e.text !== (text ?? null)) return undefined;
  if (typeof e.config !== "object" || e.config === null || Array.isArray(e.config)) return undefined;
  return e.config;
}

/** The memo in `root` for this build; a root that does not exist or cannot be written just misses. */
export function rootConfigMemo(root: string, build: string): ConfigMemo {
  const file = join(root, CONFIG_CACHE_FILE);
  return {
    get(source, text) {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(file, "utf8"));
      } catch {
        return undefined;
      }
      return cachedConfig(doc, build, source, text);
    },
    put(source, text, config) {
      const entry: Entry = { build, source, text: text ?? null, config };
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
