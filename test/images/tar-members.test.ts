import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ociArchiveInfo, parseTarHeader, readTarMembers } from "../../src/images/tar-members.js";

const dir = mkdtempSync(join(tmpdir(), "nexcage-tar-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DIGEST = "sha256:" + "ab".repeat(32);
const INDEX = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: DIGEST, size: 1 }] });

/** A layout-like tree: blobs first (one large, one with a >100 character path), then index.json, oci-layout. */
function tree(name: string, index = INDEX, layout = true): string {
  const src = join(dir, name);
  const deep = join(src, "blobs", "sha256", "d".repeat(60), "e".repeat(60));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(src, "blobs", "sha256", "big"), Buffer.alloc(700_000, 7));
  writeFileSync(join(deep, "f"), "x");
  writeFileSync(join(src, "index.json"), index);
  if (layout) writeFileSync(join(src, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  return src;
}

function tar(src: string, file: string, format: string, members = ["blobs", "index.json", "oci-layout"]): string {
  const out = join(dir, file);
  execFileSync("tar", ["--create", `--format=${format}`, "--file", out, "--directory", src, ...members]);
  return out;
}

describe("readTarMembers / ociArchiveInfo on archives made by GNU tar", () => {
  const src = tree("layout");
  it.each(["gnu", "ustar", "pax", "posix"])("%s format", (format) => {
    const file = tar(src, `a-${format}.tar`, format);
    const m = readTarMembers(file, ["index.json", "oci-layout"]);
    expect(m.get("index.json")).toBe(INDEX);
    expect(m.get("oci-layout")).toBe('{"imageLayoutVersion":"1.0.0"}');
    expect(ociArchiveInfo(file)).toEqual({ digest: DIGEST });
  });

  it("./-prefixed members (tar -C dir .) are found too", () => {
    const file = join(dir, "dot.tar");
    execFileSync("tar", ["--create", "--file", file, "--directory", src, "."]);
    expect(ociArchiveInfo(file)).toEqual({ digest: DIGEST });
  });

  it("a rootfs tarball (no oci-layout), a compressed or non-tar file, a .tar.gz name: not an OCI archive", () => {
    const noLayout = tree("rootfs", INDEX, false);
    expect(ociArchiveInfo(tar(noLayout, "rootfs.tar", "gnu", ["blobs", "index.json"]))).toBeUndefined();
    const gz = join(dir, "x.tar");
    execFileSync("tar", ["--create", "--gzip", "--file", gz, "--directory", src, "index.json", "oci-layout"]);
    expect(ociArchiveInfo(gz)).toBeUndefined();
    writeFileSync(join(dir, "junk.tar"), "not a tar at all".repeat(100));
    expect(ociArchiveInfo(join(dir, "junk.tar"))).toBeUndefined();
    expect(ociArchiveInfo(join(dir, "missing.tar"))).toBeUndefined();
    expect(ociArchiveInfo(tar(src, "named.tar.gz", "gnu"))).toBeUndefined();
  });

  it("an index with several images gives no digest; a broken index.json still marks an OCI archive", () => {
    const two = JSON.stringify({ manifests: [{ digest: DIGEST }, { digest: DIGEST }] });
    expect(ociArchiveInfo(tar(tree("two", two), "two.tar", "gnu"))).toEqual({});
    expect(ociArchiveInfo(tar(tree("broken", "{"), "broken.tar", "gnu"))).toEqual({});
  });
});

describe("parseTarHeader", () => {
  it("the zero block ends the archive", () => {
    expect(parseTarHeader(Buffer.alloc(512))).toBeUndefined();
  });
  it.each([
    [Buffer.alloc(512, 0x41), /bad header checksum/],
    [Buffer.alloc(100), /short tar header/],
  ])("refuses junk", (b, re) => {
    expect(() => parseTarHeader(b)).toThrowError(re);
  });
});
