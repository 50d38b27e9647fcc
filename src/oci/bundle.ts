import { realpathSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { errnoText } from "../errno-text.js";
import { jsonSyntaxText } from "../json-syntax.js";
import { FileReadError, readRegularFile } from "../regular-file.js";
import { BundleError, oneLine } from "../errors.js";
import { validate } from "../validation.js";
import { specSchema, type Spec } from "./spec.js";

/** Largest config.json read (docs/reliability.md): its annotations are copied into the record. */
export const BUNDLE_CONFIG_SIZE_LIMIT = 4 * 1024 * 1024;

export interface Bundle {
  /** Absolute, symlink-free path of the bundle directory. */
  readonly path: string;
  readonly spec: Spec;
  /** Absolute path of the root filesystem. */
  readonly rootfs: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A path as it appears in a one-line message: quoted when it holds a line break or control character. */
function shown(path: string): string {
  return /[\x00-\x1f\x7f]/.test(path) ? JSON.stringify(path) : path;
}

/**
 * Loads and checks a bundle before any backend sees it, so a bad bundle never leaves a
 * half-created container behind: the directory, config.json (JSON, the fields we read),
 * a process to run, and a root filesystem directory.
 */
export function loadBundle(dir: string, cwd: string = process.cwd()): Bundle {
  const asked = resolve(cwd, dir);
  let path: string;
  try {
    path = realpathSync(asked);
    if (!statSync(path).isDirectory()) throw Object.assign(new Error(), { code: "ENOTDIR" });
  } catch (e) {
    throw new BundleError(`bundle ${shown(asked)}: ${errnoText(e)}`);
  }
  const configPath = join(path, "config.json");
  let text: string;
  try {
    text = readRegularFile(configPath, { limit: BUNDLE_CONFIG_SIZE_LIMIT });
  } catch (e) {
    throw new BundleError(`bundle ${shown(path)}: config.json: ${e instanceof FileReadError ? e.reason : errnoText(e)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: the position only
    throw new BundleError(`bundle ${shown(path)}: config.json is not valid JSON: ${jsonSyntaxText(text)}`);
  }
  const parsed = validate(specSchema, doc);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue && issue.path.length ? issue.path.map(String).join(".") : "config.json";
    throw new BundleError(`bundle ${shown(path)}: ${oneLine(where)}: ${oneLine(issue?.message ?? "invalid")}`);
  }
  const spec = parsed.data;
  if (!spec.process) throw new BundleError(`bundle ${shown(path)}: process property must not be empty`);
  if (!spec.root) throw new BundleError(`bundle ${shown(path)}: root.path must be set`);
  const rootfs = isAbsolute(spec.root.path) ? spec.root.path : join(path, spec.root.path);
  try {
    if (!statSync(rootfs).isDirectory()) throw Object.assign(new Error(), { code: "ENOTDIR" });
  } catch (e) {
    throw new BundleError(`bundle ${shown(path)}: rootfs ${shown(rootfs)}: ${errnoText(e)}`);
  }
  return { path, spec, rootfs, annotations: spec.annotations ?? {} };
}
