import { InvalidArgumentError } from "../errors.js";

/**
 * What an image reference names. One pure parser decides, so `ubuntu:20.04` is never taken for a
 * Proxmox template and `local:vztmpl/x.tar.zst` never for a registry image.
 */
export type ImageReference = VolumeReference | TemplateReference | RegistryReference | PathReference;

/** A Proxmox volume id of a template: `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`. */
export interface VolumeReference {
  readonly kind: "volume";
  readonly storage: string;
  readonly file: string;
  /** `<storage>:vztmpl/<file>` */
  readonly volid: string;
}

/** A template file name in the template storage: `debian-12-standard_12.7-1_amd64.tar.zst`, `nginx_1.27.tar`. */
export interface TemplateReference {
  readonly kind: "template";
  readonly file: string;
}

/** A registry image (docker-style reference), normalised as docker does. */
export interface RegistryReference {
  readonly kind: "registry";
  /** `docker.io`, `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000` */
  readonly registry: string;
  /** `library/alpine`, `org/app` */
  readonly repository: string;
  /** Absent only when a digest is given without a tag. */
  readonly tag?: string;
  /** `sha256:<64 hex>` */
  readonly digest?: string;
  /** `docker.io/library/alpine:latest`, `ghcr.io/org/app:1.2@sha256:…` */
  readonly normalized: string;
}

/** An OCI image on the local file system: an OCI layout directory or an OCI archive (tar). */
export interface PathReference {
  readonly kind: "path";
  /** `oci` (layout directory), `oci-archive` (tar), or `auto` (decided by what the path is). */
  readonly transport: "oci" | "oci-archive" | "auto";
  readonly path: string;
  /** The image's tag inside the layout (`org.opencontainers.image.ref.name`), if given. */
  readonly tag?: string;
}

/** A bad reference: one line, naming the input and what is wrong with it. */
export class ImageReferenceError extends InvalidArgumentError {
  constructor(readonly input: string, reason: string) {
    super(`invalid image reference ${JSON.stringify(input)}: ${reason}`);
  }
}

/** pve-storage's template extensions (`$VZTMPL_EXT_RE_1`), case-insensitive. */
export const TEMPLATE_EXTENSION = /\.(tar|tar\.(gz|xz|zst|bz2))$/i;
/** Proxmox storage ids. */
const STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
/** A template file: a plain name (no `/`, no `:`), printable, with a template extension. */
const TEMPLATE_FILE = /^[A-Za-z0-9_][A-Za-z0-9_.+~-]*$/;

// distribution/reference grammar
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
const PORT = /^[0-9]{1,5}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const MAX_NAME_LENGTH = 255;
const MAX_INPUT_LENGTH = 4096;

export const DEFAULT_REGISTRY = "docker.io";
export const DEFAULT_TAG = "latest";

/**
 * Classifies and normalises an image reference:
 * - `<storage>:vztmpl/<file>` → a Proxmox volume id (other content types are refused);
 * - a plain file name with a template extension (`.tar`, `.tar.gz|xz|zst|bz2`) → a template file;
 * - `/…`, `./…`, `../…`, `oci:<path>[:tag]`, `oci-archive:<path>[:tag]` → a local OCI image;
 * - anything else (optionally `docker://`) → a registry image, `alpine` → `docker.io/library/alpine:latest`.
 */
export function parseImageReference(input: string): ImageReference {
  if (input.length === 0) throw new ImageReferenceError(input, "empty");
  if (input.length > MAX_INPUT_LENGTH) throw new ImageReferenceError(input.slice(0, 64) + "…", `longer than ${MAX_INPUT_LENGTH} characters`);
  if (/[\0-\x1f\x7f]/.test(input)) throw new ImageReferenceError(input, "contains control characters");
  if (input !== input.trim()) throw new ImageReferenceError(input, "leading or trailing white space");

  const transport = /^(oci-archive|oci|docker):/.exec(input)?.[1];
  if (transport === "oci" || transport === "oci-archive") return parseTransportPath(input, transport, input.slice(transport.length + 1));
  if (transport === "docker") {
    if (!input.startsWith("docker://")) throw new ImageReferenceError(input, "the docker transport is written docker://<reference>");
    return parseRegistryReference(input, input.slice("docker://".length));
  }
  if (input.startsWith("/") || input.startsWith("./") || input.startsWith("../") || input === "." || input === "..") {
    return { kind: "path", transport: "auto", path: checkedPath(input, input) };
  }
  const volume = /^([^:/]+):([^/]*)\/(.*)$/.exec(input);
  if (volume && !input.startsWith("[") && !PORT.test(volume[2]!)) {
    return parseVolumeId(input, volume[1]!, volume[2]!, volume[3]!);
  }
  if (!input.includes("/") && !input.includes(":") && !input.includes("@") && TEMPLATE_EXTENSION.test(input)) {
    return { kind: "template", file: checkedTemplateFile(input, input) };
  }
  return parseRegistryReference(input, input);
}

function parseVolumeId(input: string, storage: string, content: string, file: string): VolumeReference {
  if (!STORAGE_ID.test(storage)) throw new ImageReferenceError(input, `${JSON.stringify(storage)} is not a valid Proxmox storage id`);
  if (content !== "vztmpl") throw new ImageReferenceError(input, `content type needs to be 'vztmpl', not ${JSON.stringify(content)}`);
  const f = checkedTemplateFile(input, file);
  return { kind: "volume", storage, file: f, volid: `${storage}:vztmpl/${f}` };
}

function checkedTemplateFile(input: string, file: string): string {
  if (file === "") throw new ImageReferenceError(input, "the template file name is empty");
  if (file.includes("/")) throw new ImageReferenceError(input, "a template file name cannot contain '/'");
  if (!TEMPLATE_FILE.test(file)) throw new ImageReferenceError(input, `${JSON.stringify(file)} is not a valid template file name`);
  if (!TEMPLATE_EXTENSION.test(file)) throw new ImageReferenceError(input, "a template must end in .tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2");
  return file;
}

function checkedPath(input: string, path: string): string {
  if (path === "") throw new ImageReferenceError(input, "the path is empty");
  return path;
}

/** `oci:<path>[:tag]` / `oci-archive:<path>[:tag]`: the last `:` starts the tag when what follows is a tag. */
function parseTransportPath(input: string, transport: "oci" | "oci-archive", rest: string): PathReference {
  const colon = rest.lastIndexOf(":");
  if (colon > 0) {
    const tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) throw new ImageReferenceError(input, `${JSON.stringify(tag)} is not a valid tag`);
    return { kind: "path", transport, path: checkedPath(input, rest.slice(0, colon)), tag };
  }
  if (colon === 0) throw new ImageReferenceError(input, "the path is empty");
  return { kind: "path", transport, path: checkedPath(input, rest) };
}

function checkedDomain(input: string, domain: string): string {
  const colon = domain.startsWith("[") ? domain.indexOf("]:") + 1 : domain.lastIndexOf(":");
  const host = colon > 0 ? domain.slice(0, colon) : domain;
  const port = colon > 0 ? domain.slice(colon + 1) : undefined;
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535 || Number(port) === 0)) {
    throw new ImageReferenceError(input, `${JSON.stringify(port)} is not a valid registry port`);
  }
  if (IPV6_HOST.test(host)) return domain;
  if (host === "" || !host.split(".").every((c) => DOMAIN_COMPONENT.test(c))) {
    throw new ImageReferenceError(input, `${JSON.stringify(host)} is not a valid registry host`);
  }
  return domain;
}

function parseRegistryReference(input: string, ref: string): RegistryReference {
  if (ref === "") throw new ImageReferenceError(input, "empty");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ImageReferenceError(input, `${JSON.stringify(digest)} is not a valid digest (algorithm:hex)`);
    const [alg, hex] = digest.split(":") as [string, string];
    if (alg === "sha256" && !/^[0-9a-f]{64}$/.test(hex)) throw new ImageReferenceError(input, "a sha256 digest has 64 lower-case hex digits");
    if (alg === "sha512" && !/^[0-9a-f]{128}$/.test(hex)) throw new ImageReferenceError(input, "a sha512 digest has 128 lower-case hex digits");
    if (rest === "") throw new ImageReferenceError(input, "a digest alone does not name an image (give name@digest)");
  } else if (/^[A-Za-z][A-Za-z0-9+._-]*:[0-9a-fA-F]{32,}$/.test(rest) && !rest.includes("/")) {
    throw new ImageReferenceError(input, "a digest alone does not name an image (give name@digest)");
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw new ImageReferenceError(input, `${JSON.stringify(tag)} is not a valid tag`);
  }
  if (rest === "") throw new ImageReferenceError(input, "the repository name is empty");
  const slash = rest.indexOf("/");
  const first = slash < 0 ? rest : rest.slice(0, slash);
  const hasDomain = slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first || first.startsWith("["));
  let registry = hasDomain ? checkedDomain(input, first) : DEFAULT_REGISTRY;
  let repository = hasDomain ? rest.slice(slash + 1) : rest;
  if (registry === "index.docker.io") registry = DEFAULT_REGISTRY;
  if (repository === "") throw new ImageReferenceError(input, "the repository name is empty");
  if (repository.toLowerCase() !== repository) throw new ImageReferenceError(input, "repository name must be lowercase");
  for (const part of repository.split("/")) {
    if (!PATH_COMPONENT.test(part)) throw new ImageReferenceError(input, `${JSON.stringify(part)} is not a valid repository path component`);
  }
  if (registry === DEFAULT_REGISTRY && !repository.includes("/")) repository = `library/${repository}`;
  const name = `${registry}/${repository}`;
  if (name.length > MAX_NAME_LENGTH) throw new ImageReferenceError(input, `repository name longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const normalized = `${name}${tag !== undefined ? `:${tag}` : ""}${digest !== undefined ? `@${digest}` : ""}`;
  return { kind: "registry", registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}), normalized };
}

/**
 * The template file name Proxmox VE gives a pulled image (`normalize_content_filename`): everything
 * up to the last `/` dropped, characters outside `[A-Za-z0-9_.-]` turned into `_`, `.tar` added.
 * `docker.io/library/nginx:1.27` → `nginx_1.27.tar`.
 */
export function archiveFileName(ref: RegistryReference): string {
  const base = ref.normalized.slice(ref.normalized.lastIndexOf("/") + 1);
  return `${base.replace(/[^A-Za-z0-9_.-]/g, "_")}.tar`;
}
