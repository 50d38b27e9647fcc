import { readFileSync } from "node:fs";
import { ConfigError, oneLine } from "../errors.js";
import { validate } from "../validation.js";
import { jsonErrorText } from "../redact.js";
import { configSchema, type Config } from "./schema.js";
import type { ConfigMemo } from "./cache.js";

export const SYSTEM_CONFIG_PATH = "/etc/nexcage/config.json";

export interface LoadedConfig {
  readonly config: Config;
  /** Where it came from: a file path, or "built-in defaults". */
  readonly source: string;
}

/** The file to read: --config, then $NEXCAGE_CONFIG, then /etc/nexcage/config.json if it exists. */
export function configPathFor(flag: string | undefined, env: NodeJS.ProcessEnv): { path: string; required: boolean } | undefined {
  if (flag !== undefined && flag !== "") return { path: flag, required: true };
  const fromEnv = env["NEXCAGE_CONFIG"];
  if (fromEnv !== undefined && fromEnv !== "") return { path: fromEnv, required: true };
  return { path: SYSTEM_CONFIG_PATH, required: false };
}

/** Validates a parsed document; errors name the key path of the first problems. */
export function parseConfig(doc: unknown, source: string): Config {
  const result = validate(configSchema, doc);
  if (result.success) return result.data;
  const name = (k: PropertyKey) => (/^[A-Za-z0-9_$-]+$/.test(String(k)) ? String(k) : JSON.stringify(String(k)));
  const problems = result.issues.slice(0, 3).map((issue) => {
    let path = issue.path.map(name).join(".");
    let message = issue.message;
    if (issue.code === "unrecognized_keys") {
      const keys = (issue.keys ?? []).map((k) => (path ? `${path}.${name(k)}` : name(k)));
      return `unknown key ${keys.join(", ")}`;
    }
    if (path === "") path = "(top level)";
    return `${path}: ${oneLine(message)}`;
  });
  throw new ConfigError(`invalid config ${source}: ${problems.join("; ")}`);
}

/**
 * The config for this call. With a memo, a file whose exact text was validated before by this
 * build is not validated again (src/config/cache.ts).
 */
export function loadConfig(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, memo?: ConfigMemo): LoadedConfig {
  const where = configPathFor(flag, env);
  if (!where) return defaults(memo);
  let text: string;
  try {
    text = readFileSync(where.path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!where.required && code === "ENOENT") return defaults(memo);
    throw new ConfigError(`cannot read config ${where.path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  return validated(where.path, text, memo, () => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`invalid config ${where.path}: not JSON: ${jsonErrorText(e)}`);
    }
  });
}

/** The source named for a configuration made of the built-in defaults alone (no file). */
export const DEFAULTS_SOURCE = "built-in defaults";

function defaults(memo: ConfigMemo | undefined): LoadedConfig {
  return validated(DEFAULTS_SOURCE, undefined, memo, () => ({}));
}

/** The memo's entry for this exact text (undefined: no file), else the document validated and kept. */
function validated(source: string, text: string | undefined, memo: ConfigMemo | undefined, doc: () => unknown): LoadedConfig {
  const hit = memo?.get(source, text);
  if (hit) return { config: hit, source };
  const config = parseConfig(doc(), source);
  memo?.put(source, text, config);
  return { config, source };
}
