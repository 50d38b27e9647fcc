import { rmSync, readFileSync } from "node:fs";
import { run } from "../exec/run.js";
import { BackendError, oneLine } from "../errors.js";
import type { Logger } from "../log.js";
import type { RegistryReference } from "./reference.js";
import type { ImagesSettings } from "./settings.js";

export interface CopyRequest {
  readonly source: string;
  readonly destination: string;
  /** Registry the source or destination is on, to decide on TLS verification. */
  readonly registry?: string;
  readonly authFile?: string;
  readonly digestFile?: string;
  /** Progress to our stderr (a terminal) instead of --quiet. */
  readonly progress: boolean;
}

/** Pure: the argv of `skopeo copy` for a request. Credentials only ever travel in the auth file. */
export function copyArgs(req: CopyRequest, insecure: readonly string[]): string[] {
  const args = ["copy"];
  if (req.authFile !== undefined) args.push("--authfile", req.authFile);
  if (req.registry !== undefined && insecure.includes(req.registry)) args.push("--src-tls-verify=false");
  if (req.digestFile !== undefined) args.push("--digestfile", req.digestFile);
  if (!req.progress) args.push("--quiet");
  args.push(req.source, req.destination);
  return args;
}

/** skopeo's transport string for a registry image. */
export function dockerSource(ref: RegistryReference): string {
  return `docker://${ref.normalized}`;
}

export interface SkopeoResult {
  readonly ok: boolean;
  readonly stderr: string;
}

/** Runs skopeo copy; progress (on a terminal) goes to our stderr, never to stdout. */
export async function skopeoCopy(s: ImagesSettings, req: CopyRequest, log: Logger): Promise<SkopeoResult & { digest?: string }> {
  const args = copyArgs(req, s.insecureRegistries);
  log.debug({ argv: [s.skopeo, ...args] }, "images: skopeo copy");
  const r = await run(s.skopeo, args, { timeoutMs: s.timeoutSeconds * 1000, output: req.progress ? "stderr" : "pipe" });
  if (r.spawnError) throw new BackendError(`cannot run ${s.skopeo}: ${r.spawnError.code ?? r.spawnError.message} (install skopeo)`);
  if (r.timedOut) return { ok: false, stderr: `skopeo did not finish within ${s.timeoutSeconds}s` };
  if (r.exitCode !== 0) {
    log.debug({ stderr: r.stderr, exitCode: r.exitCode }, "images: skopeo copy failed");
    return { ok: false, stderr: r.stderr || `skopeo exited with status ${r.exitCode ?? r.signal}` };
  }
  let digest: string | undefined;
  if (req.digestFile !== undefined) {
    try {
      digest = readFileSync(req.digestFile, "utf8").trim();
    } finally {
      rmSync(req.digestFile, { force: true });
    }
  }
  return { ok: true, stderr: r.stderr, ...(digest !== undefined ? { digest } : {}) };
}

/** skopeo's error for a failed local step (no registry involved), one line. */
export function skopeoFailure(what: string, stderr: string): BackendError {
  return new BackendError(`${what}: ${oneLine(stderr)}`);
}
