import { isatty } from "node:tty";
import type { BackendName, Config } from "../config/schema.js";
import { InvalidArgumentError } from "../errors.js";
import type { Logger } from "../log.js";
import { loadBundle, type Bundle } from "../oci/bundle.js";
import { checkedAuthFile } from "./pull.js";
import { parseImageReference } from "./reference.js";
import { resolveImageSource, type ImageSource } from "./source.js";
import { writeImageBundle } from "./unpack.js";

/** What a container record keeps about its image. */
export interface ImageRecord {
  readonly reference: string;
  readonly volid?: string;
  readonly digest?: string;
}

export interface ResolvedImage {
  readonly source: ImageSource;
  readonly record: ImageRecord;
  /** The template volume goes to `pct create` as is (a rootfs template, or an OCI archive PVE >= 9.1 maps itself). */
  readonly toPct?: { readonly volid: string; readonly oci: boolean };
}

/**
 * `create --image`, before the container's lock: parse the reference, find the image (pulling a
 * registry image that is not in template storage yet) and check the backend can use it.
 */
export async function resolveImage(cfg: Config, log: Logger, input: string, backend: BackendName, o: { authFile?: string }): Promise<ResolvedImage> {
  const ref = parseImageReference(input);
  const authFile = checkedAuthFile(cfg, o.authFile);
  const source = await resolveImageSource(cfg, log, ref, input, { authFile, progress: isatty(2) });
  if (source.kind === "template" && backend !== "proxmox-lxc") {
    throw new InvalidArgumentError(`${source.volid ?? input} is a Proxmox template, usable only by the proxmox-lxc backend (this container routes to ${backend})`);
  }
  const record = { reference: source.reference, ...(source.volid !== undefined ? { volid: source.volid } : {}), ...(source.digest !== undefined ? { digest: source.digest } : {}) };
  const pveMapsOci = backend === "proxmox-lxc" && cfg.backends["proxmox-lxc"].ociImages === "pct";
  const toPct =
    source.volid !== undefined && (source.kind === "template" || (source.kind === "archive" && pveMapsOci))
      ? { volid: source.volid, oci: source.kind === "archive" }
      : undefined;
  return { source, record, ...(toPct ? { toPct } : {}) };
}

/** Under the lock, in the container's directory: the bundle made from the image. */
export async function materialise(
  cfg: Config,
  log: Logger,
  image: ResolvedImage,
  bundleDir: string,
  id: string,
): Promise<{ bundle: Bundle; template?: { volid: string; oci: boolean }; record: ImageRecord }> {
  const digest = await writeImageBundle(cfg, log, image.source, bundleDir, id, image.toPct !== undefined);
  const bundle = loadBundle(bundleDir);
  return {
    bundle,
    ...(image.toPct ? { template: image.toPct } : {}),
    record: { ...image.record, ...(digest !== undefined ? { digest } : {}) },
  };
}
