import { array, looseObject, number, record, string, unknown, type output } from "zod";
import { BackendError, oneLine } from "../errors.js";

/** The parts of an OCI image configuration (image-spec config.json) a container is made from. */
export const imageConfigSchema = looseObject({
  architecture: string().optional(),
  os: string().optional(),
  config: looseObject({
    User: string().optional(),
    Env: array(string()).nullish(),
    Entrypoint: array(string()).nullish(),
    Cmd: array(string()).nullish(),
    WorkingDir: string().optional(),
    StopSignal: string().optional(),
    Labels: record(string(), string()).nullish(),
    Volumes: record(string(), unknown()).nullish(),
  }).optional(),
});
export type ImageConfig = output<typeof imageConfigSchema>;

const descriptorSchema = looseObject({
  mediaType: string().optional(),
  digest: string().regex(/^[a-z0-9]+:[0-9a-f]+$/),
  size: number().int().nonnegative().optional(),
  annotations: record(string(), string()).optional(),
});
const indexSchema = looseObject({ manifests: array(descriptorSchema) });
const manifestSchema = looseObject({ config: descriptorSchema, layers: array(descriptorSchema).optional() });

const REF_NAME = "org.opencontainers.image.ref.name";

function parsed<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, text: string, what: string): T {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new BackendError(`image ${what} is not JSON: ${oneLine((e as Error).message)}`);
  }
  const r = schema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0];
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
