import { array, int, looseObject, nonnegative, nullish, optional, record, regex, string, unknown, type output, type ZodMiniType } from "zod/mini";
import { BackendError, oneLine } from "../errors.js";
import { validate } from "../validation.js";

/** The parts of an OCI image configuration (image-spec config.json) a container is made from. */
export const imageConfigSchema = looseObject({
  architecture: optional(string()),
  os: optional(string()),
  config: optional(
    looseObject({
      User: optional(string()),
      Env: nullish(array(string())),
      Entrypoint: nullish(array(string())),
      Cmd: nullish(array(string())),
      WorkingDir: optional(string()),
      StopSignal: optional(string()),
      Labels: nullish(record(string(), string())),
      Volumes: nullish(record(string(), unknown())),
    }),
  ),
});
export type ImageConfig = output<typeof imageConfigSchema>;

const descriptorSchema = looseObject({
  mediaType: optional(string()),
  digest: string().check(regex(/^[a-z0-9]+:[0-9a-f]+$/)),
  size: optional(int().check(nonnegative())),
  annotations: optional(record(string(), string())),
});
const indexSchema = looseObject({ manifests: array(descriptorSchema) });
const manifestSchema = looseObject({ config: descriptorSchema, layers: optional(array(descriptorSchema)) });

const REF_NAME = "org.opencontainers.image.ref.name";

function parsed<S extends ZodMiniType>(schema: S, text: string, what: string): output<S> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new BackendError(`image ${what} is not JSON: ${oneLine((e as Error).message)}`);
  }
  const r = validate(schema, doc);
  if (!r.success) {
    const issue = r.issues[0];
    throw new BackendError(`image ${what}: ${issue?.path.map(String).join(".") || "(top)"}: ${oneLine(issue?.message ?? "invalid")}`);
  }
  return r.data;
}

/** Path of a blob inside an OCI layout: `blobs/<alg>/<hex>`. */
export function blobPath(digest: string): string {
  const [alg, hex] = digest.split(":");
  return `blobs/${alg}/${hex}`;
}

/**
 * Pure: from an OCI layout's files (read through `read`, relative paths) to the image's manifest
 * digest and configuration. `tag` picks the manifest by its ref.name; without one the layout must
 * hold exactly one manifest.
 */
export function readImageFromLayout(read: (relPath: string) => string, tag?: string): { manifestDigest: string; config: ImageConfig } {
  const index = parsed(indexSchema, read("index.json"), "index.json");
  const candidates = tag === undefined ? index.manifests : index.manifests.filter((m) => m.annotations?.[REF_NAME] === tag);
  if (candidates.length === 0) throw new BackendError(tag === undefined ? "image layout holds no manifest" : `image layout has no image tagged ${JSON.stringify(tag)}`);
  if (candidates.length > 1) throw new BackendError("image layout holds several images: name one with oci:<path>:<tag>");
  const desc = candidates[0]!;
  if (desc.mediaType !== undefined && !/manifest/.test(desc.mediaType)) throw new BackendError(`image index entry ${desc.digest} is a ${JSON.stringify(desc.mediaType)}, not an image manifest`);
  const manifest = parsed(manifestSchema, read(blobPath(desc.digest)), `manifest ${desc.digest}`);
  const config = parsed(imageConfigSchema, read(blobPath(manifest.config.digest)), `config ${manifest.config.digest}`);
  return { manifestDigest: desc.digest, config };
}
