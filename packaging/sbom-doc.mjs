// Pure parts of the SBOM: which npm packages a bundle holds (from esbuild's metafile) and the
// CycloneDX 1.5 document for the single binary. Used by packaging/sbom.mjs; unit-tested.

/** The package a bundled input belongs to: the last node_modules/<name> (or @scope/name) in its path. */
export function packageOfInput(input) {
  const parts = input.split("/");
  const i = parts.lastIndexOf("node_modules");
  if (i < 0 || i + 1 >= parts.length) return undefined;
  const first = parts[i + 1];
  const name = first.startsWith("@") ? (parts[i + 2] === undefined ? undefined : `${first}/${parts[i + 2]}`) : first;
  if (name === undefined) return undefined;
  return { name, lockKey: [...parts.slice(0, i + 1), name].join("/") };
}

/**
 * The npm packages whose files ended up in the output (bytesInOutput > 0), with versions, licenses
 * and integrity from package-lock.json (v3: packages["node_modules/<name>"]).
 */
export function bundledPackages(metafile, lock) {
  const seen = new Map();
  for (const out of Object.values(metafile.outputs)) {
    for (const [input, info] of Object.entries(out.inputs ?? {})) {
      if (!info.bytesInOutput) continue;
      const p = packageOfInput(input);
      if (!p || seen.has(p.lockKey)) continue;
      const entry = lock.packages?.[p.lockKey];
      if (!entry) throw new Error(`${p.lockKey} is bundled but not in package-lock.json`);
      seen.set(p.lockKey, { name: p.name, version: entry.version, license: entry.license, integrity: entry.integrity });
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function npmPurl(name, version) {
  const n = name.startsWith("@") ? `%40${name.slice(1)}` : name;
  return `pkg:npm/${n}@${version}`;
}

function hashOf(integrity) {
  const m = /^sha512-(.+)$/.exec(integrity ?? "");
  return m ? [{ alg: "SHA-512", content: Buffer.from(m[1], "base64").toString("hex") }] : undefined;
}

function licenses(id) {
  return id ? [{ license: { id } }] : undefined;
}

/**
 * CycloneDX 1.5 JSON for the binary. facts: { version, commit, timestamp, serial, binary: {sha256},
 * runtime: {name, version}, packages (bundledPackages), koffi: {version, integrity, nativeSha256},
 * libcrun: {upstream, debianSource, sha256, patch} }.
 */
export function cycloneDx(f) {
  const comp = (c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  const root = `pkg:deb/debian/nexcage@${f.version}?arch=amd64`;
  const npm = f.packages.map((p) =>
    comp({ type: "library", "bom-ref": npmPurl(p.name, p.version), name: p.name, version: p.version, purl: npmPurl(p.name, p.version), licenses: licenses(p.license), hashes: hashOf(p.integrity), properties: [{ name: "nexcage:shipped-as", value: "bundled JavaScript" }] }),
  );
  const koffi = comp({
    type: "library", "bom-ref": npmPurl("koffi", f.koffi.version), name: "koffi", version: f.koffi.version, purl: npmPurl("koffi", f.koffi.version),
    licenses: licenses("MIT"), hashes: [{ alg: "SHA-256", content: f.koffi.nativeSha256 }],
    properties: [{ name: "nexcage:shipped-as", value: "/usr/lib/nexcage/koffi.node (Node-API module)" }],
  });
  const runtime = comp({
    type: "application", "bom-ref": `runtime:${f.runtime.name}@${f.runtime.version}`, name: f.runtime.name, version: f.runtime.version,
    purl: f.runtime.name === "bun" ? `pkg:npm/%40oven/bun-linux-x64-baseline@${f.runtime.version}` : `pkg:generic/nodejs@${f.runtime.version}`,
    licenses: licenses("MIT"), properties: [{ name: "nexcage:shipped-as", value: "JavaScript runtime inside /usr/lib/nexcage/nexcage" }],
  });
  const libcrun = comp({
    type: "library", "bom-ref": `pkg:deb/debian/crun@${f.libcrun.debianSource}?arch=amd64`, name: "libcrun", version: f.libcrun.upstream,
    purl: `pkg:deb/debian/crun@${f.libcrun.debianSource}?arch=amd64`, licenses: [{ expression: "GPL-2.0-or-later AND LGPL-2.1-or-later" }],
    hashes: [{ alg: "SHA-256", content: f.libcrun.sha256 }],
    pedigree: { notes: `built from Debian's crun source package ${f.libcrun.debianSource} with ${f.libcrun.patch}` },
    properties: [{ name: "nexcage:shipped-as", value: "/usr/lib/nexcage/libcrun.so.1.8.1" }],
  });
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    serialNumber: f.serial,
    version: 1,
    metadata: {
      timestamp: f.timestamp,
      tools: { components: [{ type: "application", name: "nexcage packaging/sbom.mjs", version: f.version }] },
      component: comp({
        type: "application", "bom-ref": root, name: "nexcage", version: f.version, purl: root, licenses: licenses("Apache-2.0"),
        hashes: [{ alg: "SHA-256", content: f.binary.sha256 }], properties: [{ name: "nexcage:commit", value: f.commit }],
      }),
    },
    components: [runtime, ...npm, koffi, libcrun],
    dependencies: [{ ref: root, dependsOn: [runtime["bom-ref"], ...npm.map((c) => c["bom-ref"]), koffi["bom-ref"], libcrun["bom-ref"]] }],
  };
}
