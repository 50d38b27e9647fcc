import { lstatSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import type { Config } from "../config/schema.js";
import { run } from "../exec/run.js";
import { BackendError, oneLine } from "../errors.js";
import type { Logger } from "../log.js";
import { readImageFromLayout, type ImageConfig } from "./image-config.js";
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
 * (owners, modes and whiteouts kept), config.json generated from the image configuration. A Proxmox
 * rootfs template gets an empty rootfs and /sbin/init (the proxmox-lxc backend creates the CT from
 * the template itself). Returns the manifest digest. Everything is written under `bundleDir` and its
 * parent (the container's directory), which a failed create removes.
 */
export async function writeImageBundle(cfg: Config, log: Logger, src: ImageSource, bundleDir: string, id: string): Promise<string | undefined> {
  const rootfs = join(bundleDir, "rootfs");
  mkdirSync(rootfs, { recursive: true, mode: 0o755 });
  const hostname = hostnameFor(id);
  if (src.kind === "template") {
    const spec = specFromImage({}, { hostname: hostname ?? "", user: { uid: 0, gid: 0, additionalGids: [] }, reference: src.reference, args: SYSTEM_INIT });
    if (hostname === undefined) delete spec["hostname"];
    writeSpec(bundleDir, spec);
    return undefined;
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

function imageSpec(config: ImageConfig, rootfs: string, reference: string, hostname: string | undefined): Record<string, unknown> {
  const user = resolveUser(config.config?.User ?? "", parsePasswd(readInside(rootfs, "etc/passwd")), parseGroup(readInside(rootfs, "etc/group")));
  const spec = specFromImage(config, { hostname: hostname ?? "", user, reference });
  if (hostname === undefined) delete spec["hostname"];
  return spec;
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
