#!/usr/bin/env node
// Writes the CycloneDX SBOM of the single binary built by packaging/build-binary.mjs:
//   node packaging/sbom.mjs BINARY OUT.cdx.json
// From build/binary/meta.json (the npm packages really in the bundle), package-lock.json (versions,
// licenses, hashes), build/binary/build-info.json (runtime, commit) and build/libcrun/BUILD-INFO.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundledPackages, cycloneDx } from "./sbom-doc.mjs";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [binary, out] = process.argv.slice(2);
if (!binary || !out) {
  process.stderr.write("usage: node packaging/sbom.mjs BINARY OUT.cdx.json\n");
  process.exit(2);
}
const json = (p) => JSON.parse(readFileSync(p, "utf8"));
const sha256 = (p) => createHash("sha256").update(readFileSync(p)).digest("hex");
const info = json(join(REPO, "build", "binary", "build-info.json"));
const lock = json(join(REPO, "package-lock.json"));
const libInfo = Object.fromEntries(
  readFileSync(join(REPO, "build", "libcrun", "BUILD-INFO"), "utf8").trim().split("\n").map((l) => l.split(/=(.*)/s, 2)),
);
const epoch = process.env.SOURCE_DATE_EPOCH;
const timestamp = (epoch ? new Date(Number(epoch) * 1000) : new Date()).toISOString().replace(/\.\d{3}Z$/, "Z");
// a stable serial for one binary: derived from its hash
const h = sha256(binary);
const serial = `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
const doc = cycloneDx({
  version: info.version,
  commit: info.commit,
  timestamp,
  serial,
  binary: { sha256: h },
  runtime: info.runtime,
  packages: bundledPackages(json(join(REPO, "build", "binary", "meta.json")), lock),
  koffi: { version: info.koffi, nativeSha256: sha256(join(dirname(binary), "koffi.node")) },
  libcrun: { upstream: libInfo.upstream_version, debianSource: libInfo.source_version, sha256: libInfo.library_sha256, patch: libInfo.patch },
});
writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
process.stdout.write(`sbom: ${out} (${doc.components.length} components)\n`);
