import { isatty } from "node:tty";
import type { Config } from "../config/schema.js";
import { descriptor, REGISTRY, type BackendDescriptor } from "../backends/registry.js";
import type { BackendName } from "../names.js";
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
  /**
   * The image goes to the backend as a template volume its tool reads itself (CreateRequest.volume:
   * a rootfs template, or an OCI archive PVE >= 9.1 maps itself).
   */
  readonly volume?: { readonly volid: string; readonly oci: boolean };
}

/**
 * `create --image`, before the container's lock: parse the reference, find the image (pulling a
 * registry image that is not in template storage yet) and check the backend can use it.
 */
export async function resolveImage(cfg: Config, log: Logger, input: string, backend: BackendName, o: { authFile?: string }): Promise<ResolvedImage> {
  const ref = parseImageReference(input);
  const authFile = checkedAuthFile(cfg, o.authFile);
  const source = await resolveImageSource(cfg, log, ref, input, { authFile, progress: isatty(2) });
  const takesVolumes = (Object.values(REGISTRY) as BackendDescriptor[]).filter((d) => d.can.templateVolumes).map((d) => d.name);
  if (source.kind === "template" && !descriptor(backend).can.templateVolumes) {
    throw new InvalidArgumentError(`${source.volid ?? input} is a Proxmox template, usable only by the ${takesVolumes.join(" or ")} backend (this container routes to ${backend})`);
  }
  const record = { reference: source.reference, ...(source.volid !== undefined ? { volid: source.volid } : {}), ...(source.digest !== undefined ? { digest: source.digest } : {}) };
  // an OCI archive goes to pct as is only when backends.proxmox-lxc.ociImages says PVE maps it
  const pveMapsOci = descriptor(backend).can.templateVolumes && cfg.backends["proxmox-lxc"].ociImages === "pct";
  const volume =
    source.volid !== undefined && (source.kind === "template" || (source.kind === "archive" && pveMapsOci))
      ? { volid: source.volid, oci: source.kind === "archive" }
      : undefined;
  return { source, record, ...(volume ? { volume } : {}) };
}

/** Under the lock, in the container's directory: the bundle made from the image. */
export async function materialise(
  cfg: Config,
  log: Logger,
  image: ResolvedImage,
  bundleDir: string,
  id: string,
): Promise<{ bundle: Bundle; volume?: { volid: string; oci: boolean }; record: ImageRecord }> {
  const digest = await writeImageBundle(cfg, log, image.source, bundleDir, id, image.volume !== undefined);
  const bundle = loadBundle(bundleDir);
  return {
    bundle,
    ...(image.volume ? { volume: image.volume } : {}),
    record: { ...image.record, ...(digest !== undefined ? { digest } : {}) },
  };
}
