import { lstatSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import type { Config } from "../config/schema.js";
import { run } from "../exec/run.js";
import { BackendError, oneLine } from "../errors.js";
import type { Logger } from "../log.js";
import { readImageFromLayout, type ImageConfig } from "./image-config.js";
import { readTarMembers } from "./tar-members.js";
import { specFromImage } from "./image-spec.js";
import { parseGroup, parsePasswd, resolveUser } from "./passwd.js";
import { skopeoCopy, skopeoFailure } from "./skopeo.js";
import type { ImageSource } from "./source.js";

const LAYOUT_TAG = "nexcage";
const SYSTEM_INIT = ["/sbin/init"];

/** A file of the unpacked rootfs, read only when it is a regular file inside the rootfs (no symlink escape). */
function readInside(rootfs: string, rel: string): string {
  try {
    const real = realpathSync(join(rootfs, rel));
    if (!real.startsWith(realpathSync(rootfs) + sep) || !lstatSync(real).isFile()) return "";
    return readFileSync(real, "utf8");
  } catch {
    return "";
  }
}

/** A DNS-safe id is the container's hostname (as engines do); otherwise the spec keeps none of its own. */
function hostnameFor(id: string): string | undefined {
  return /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(id) ? id : undefined;
}

function writeSpec(bundleDir: string, spec: Record<string, unknown>): void {
  writeFileSync(join(bundleDir, "config.json"), `${JSON.stringify(spec, null, "\t")}\n`, { mode: 0o644 });
}

/**
 * Makes an OCI bundle at `bundleDir` from an image: the layers unpacked by umoci into `rootfs`
 * (owners, modes and whiteouts kept), config.json generated from the image configuration. When
 * `pct` creates the CT from the template volume itself (`forPct`: a rootfs template, or an OCI archive
 * PVE >= 9.1 maps), the rootfs stays empty and config.json only describes it (/sbin/init for a rootfs
 * template, the image's command otherwise). Returns the manifest digest. Everything is written under
 * `bundleDir` and its parent (the container's directory), which a failed create removes.
 */
export async function writeImageBundle(cfg: Config, log: Logger, src: ImageSource, bundleDir: string, id: string, forPct: boolean): Promise<string | undefined> {
  const rootfs = join(bundleDir, "rootfs");
  mkdirSync(rootfs, { recursive: true, mode: 0o755 });
  const hostname = hostnameFor(id);
  const root = { uid: 0, gid: 0, additionalGids: [] };
  if (src.kind === "template") {
    writeSpec(bundleDir, withHostname(specFromImage({}, { hostname: "", user: root, reference: src.reference, args: SYSTEM_INIT }), hostname));
    return undefined;
  }
  if (forPct && src.kind === "archive") {
    const { manifestDigest, config } = readImageFromArchive(src.path);
    writeSpec(bundleDir, withHostname(specFromImage(config, { hostname: "", user: root, reference: src.reference }), hostname));
    return src.digest ?? manifestDigest;
  }
  const layout = join(bundleDir, "..", "image");
  rmSync(layout, { recursive: true, force: true });
  try {
    const source = src.kind === "archive" ? `oci-archive:${src.path}` : `oci:${src.path}${src.tag !== undefined ? `:${src.tag}` : ""}`;
    const copied = await skopeoCopy(cfg.images, { source, destination: `oci:${layout}:${LAYOUT_TAG}`, progress: false }, log);
    if (!copied.ok) throw skopeoFailure(`cannot read image ${src.reference}`, copied.stderr);
    const { manifestDigest, config } = readImageFromLayout((rel) => readFileSync(join(layout, rel), "utf8"), LAYOUT_TAG);
    await umociUnpack(cfg, log, layout, rootfs);
    writeSpec(bundleDir, imageSpec(config, rootfs, src.reference, hostname));
    return src.digest ?? manifestDigest;
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
}

function withHostname(spec: Record<string, unknown>, hostname: string | undefined): Record<string, unknown> {
  if (hostname === undefined) delete spec["hostname"];
  else spec["hostname"] = hostname;
  return spec;
}

function imageSpec(config: ImageConfig, rootfs: string, reference: string, hostname: string | undefined): Record<string, unknown> {
  const user = resolveUser(config.config?.User ?? "", parsePasswd(readInside(rootfs, "etc/passwd")), parseGroup(readInside(rootfs, "etc/group")));
  return withHostname(specFromImage(config, { hostname: "", user, reference }), hostname);
}

/** The manifest digest and configuration straight from an OCI archive's tar members (no extraction). */
function readImageFromArchive(path: string): { manifestDigest: string; config: ImageConfig } {
  const cache = new Map<string, string>();
  return readImageFromLayout((rel) => {
    if (!cache.has(rel)) {
      const m = readTarMembers(path, [rel]);
      const text = m.get(rel);
      if (text === undefined) throw new BackendError(`OCI archive ${path} has no ${rel}`);
      cache.set(rel, text);
    }
    return cache.get(rel)!;
  });
}

async function umociUnpack(cfg: Config, log: Logger, layout: string, rootfs: string): Promise<void> {
  const args = ["raw", "unpack", "--image", `${layout}:${LAYOUT_TAG}`, rootfs];
  log.debug({ argv: [cfg.images.umoci, ...args] }, "images: umoci raw unpack");
  const r = await run(cfg.images.umoci, args, { timeoutMs: cfg.images.timeoutSeconds * 1000 });
  if (r.spawnError) throw new BackendError(`cannot run ${cfg.images.umoci}: ${r.spawnError.code ?? r.spawnError.message} (install umoci)`);
  if (r.exitCode !== 0) {
    log.debug({ stderr: r.stderr, exitCode: r.exitCode }, "images: umoci failed");
    const cause = /no space left on device/i.test(r.stderr) ? "no space left on device" : oneLine(r.stderr.split("\n").filter(Boolean).pop() ?? `exit status ${r.exitCode}`);
    throw new BackendError(`cannot unpack the image into ${rootfs}: ${cause}`);
  }
}
