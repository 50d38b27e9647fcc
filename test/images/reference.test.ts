import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import { archiveFileName, parseImageReference, type RegistryReference } from "../../src/images/reference.js";

const D = "sha256:" + "a".repeat(64);

describe("parseImageReference: Proxmox volume ids and template files", () => {
  it.each([
    ["local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "local", "debian-12-standard_12.7-1_amd64.tar.zst"],
    ["nfs-store.1:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz", "nfs-store.1", "alpine-3.20-default_20240908_amd64.tar.xz"],
    ["local:vztmpl/nginx_1.27.tar", "local", "nginx_1.27.tar"],
    ["local:vztmpl/x.TAR.GZ", "local", "x.TAR.GZ"],
  ])("%s is a volume id", (input, storage, file) => {
    expect(parseImageReference(input)).toEqual({ kind: "volume", storage, file, volid: `${storage}:vztmpl/${file}` });
  });

  it.each(["debian-12-standard_12.7-1_amd64.tar.zst", "nginx_1.27.tar", "ubuntu-22.04-standard_22.04-1_amd64.tar.gz", "a.tar.bz2"])("%s is a template file", (input) => {
    expect(parseImageReference(input)).toEqual({ kind: "template", file: input });
  });

  it.each([
    ["local:iso/debian.iso", /content type needs to be 'vztmpl'/],
    ["local:vztmpl/", /template file name is empty/],
    ["local:vztmpl/sub/x.tar.zst", /cannot contain '\/'/],
    ["local:vztmpl/debian.img", /must end in \.tar/],
    ["1local:vztmpl/x.tar", /not a valid Proxmox storage id/],
    ["local:vztmpl/x y.tar", /not a valid template file name/],
  ])("%s is refused: %s", (input, re) => {
    expect(() => parseImageReference(input)).toThrowError(re);
  });
});

describe("parseImageReference: registry references", () => {
  it.each<[string, Omit<RegistryReference, "kind">]>([
    ["alpine", { registry: "docker.io", repository: "library/alpine", tag: "latest", normalized: "docker.io/library/alpine:latest" }],
    ["ubuntu:20.04", { registry: "docker.io", repository: "library/ubuntu", tag: "20.04", normalized: "docker.io/library/ubuntu:20.04" }],
    ["nginx:1.27", { registry: "docker.io", repository: "library/nginx", tag: "1.27", normalized: "docker.io/library/nginx:1.27" }],
    ["bitnami/redis", { registry: "docker.io", repository: "bitnami/redis", tag: "latest", normalized: "docker.io/bitnami/redis:latest" }],
    ["docker.io/library/nginx:1.27", { registry: "docker.io", repository: "library/nginx", tag: "1.27", normalized: "docker.io/library/nginx:1.27" }],
    ["index.docker.io/alpine", { registry: "docker.io", repository: "library/alpine", tag: "latest", normalized: "docker.io/library/alpine:latest" }],
    [`ghcr.io/org/app:1.2@${D}`, { registry: "ghcr.io", repository: "org/app", tag: "1.2", digest: D, normalized: `ghcr.io/org/app:1.2@${D}` }],
    [`alpine@${D}`, { registry: "docker.io", repository: "library/alpine", digest: D, normalized: `docker.io/library/alpine@${D}` }],
    ["127.0.0.1:5000/test/busybox:v1", { registry: "127.0.0.1:5000", repository: "test/busybox", tag: "v1", normalized: "127.0.0.1:5000/test/busybox:v1" }],
    ["localhost/app", { registry: "localhost", repository: "app", tag: "latest", normalized: "localhost/app:latest" }],
    ["localhost:5000/app", { registry: "localhost:5000", repository: "app", tag: "latest", normalized: "localhost:5000/app:latest" }],
    ["[::1]:5000/app:2", { registry: "[::1]:5000", repository: "app", tag: "2", normalized: "[::1]:5000/app:2" }],
    ["registry.example.com/a/b/c__d-e.f:Tag_1", { registry: "registry.example.com", repository: "a/b/c__d-e.f", tag: "Tag_1", normalized: "registry.example.com/a/b/c__d-e.f:Tag_1" }],
    ["docker://alpine:3.20", { registry: "docker.io", repository: "library/alpine", tag: "3.20", normalized: "docker.io/library/alpine:3.20" }],
    ["app.tar:1", { registry: "docker.io", repository: "library/app.tar", tag: "1", normalized: "docker.io/library/app.tar:1" }],
  ])("%s", (input, expected) => {
    expect(parseImageReference(input)).toEqual({ kind: "registry", ...expected });
  });

  it.each([
    ["", /empty/],
    [" alpine", /white space/],
    ["alp\nine", /control characters/],
    ["Alpine", /must be lowercase/],
    ["docker.io/Library/alpine", /must be lowercase/],
    ["alpine:", /"" is not a valid tag/],
    ["alpine:-x", /not a valid tag/],
    ["alpine:" + "t".repeat(129), /not a valid tag/],
    ["alpine@sha256:abc", /not a valid digest/],
    ["alpine@sha256:" + "A".repeat(64), /64 lower-case hex/],
    ["@" + D, /a digest alone/],
    [D, /a digest alone/],
    ["alpine@", /not a valid digest/],
    ["registry:99999/app", /not a valid registry port/],
    ["-bad.host:5000/app", /not a valid registry host/],
    ["ghcr.io/", /repository name is empty/],
    ["ghcr.io//app", /not a valid repository path component/],
    ["a..b/c", /not a valid registry host/],
    ["app-/x", /not a valid repository path component/],
    ["docker:alpine", /docker:\/\/<reference>/],
    ["docker://", /empty/],
    ["x/".repeat(200) + "y", /longer than 255/],
    ["a".repeat(5000), /longer than 4096/],
  ])("%j is refused: %s", (input, re) => {
    let err: unknown;
    try {
      parseImageReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/^invalid image reference /);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toMatch(/\n/);
  });
});

describe("parseImageReference: local OCI images", () => {
  it.each([
    ["/srv/images/app", { transport: "auto", path: "/srv/images/app" }],
    ["./app.tar", { transport: "auto", path: "./app.tar" }],
    ["../layout", { transport: "auto", path: "../layout" }],
    ["oci:/srv/layout", { transport: "oci", path: "/srv/layout" }],
    ["oci:/srv/layout:v1", { transport: "oci", path: "/srv/layout", tag: "v1" }],
    ["oci-archive:/tmp/app.tar", { transport: "oci-archive", path: "/tmp/app.tar" }],
    ["oci-archive:/tmp/app.tar:latest", { transport: "oci-archive", path: "/tmp/app.tar", tag: "latest" }],
    ["oci:layout", { transport: "oci", path: "layout" }],
  ])("%s", (input, expected) => {
    expect(parseImageReference(input)).toEqual({ kind: "path", ...expected });
  });

  it.each([
    ["oci:", /path is empty/],
    ["oci::v1", /path is empty/],
    ["oci:/x:bad tag", /not a valid tag/],
  ])("%j is refused", (input, re) => {
    expect(() => parseImageReference(input)).toThrowError(re);
  });
});

describe("archiveFileName: Proxmox VE's name for a pulled image", () => {
  it.each([
    ["docker.io/library/nginx:1.27", "nginx_1.27.tar"],
    ["alpine", "alpine_latest.tar"],
    ["127.0.0.1:5000/test/busybox:v1", "busybox_v1.tar"],
    [`ghcr.io/org/app:1.2@${D}`, `app_1.2_sha256_${"a".repeat(64)}.tar`],
    [`alpine@${D}`, `alpine_sha256_${"a".repeat(64)}.tar`],
  ])("%s → %s", (input, name) => {
    const ref = parseImageReference(input);
    if (ref.kind !== "registry") throw new Error("not a registry reference");
    expect(archiveFileName(ref)).toBe(name);
  });
});
