import { describe, expect, it } from "vitest";
import { bundledPackages, cycloneDx, npmPurl, packageOfInput } from "../../packaging/sbom-doc.mjs";

describe("packageOfInput", () => {
  it.each([
    ["node_modules/zod/v4/core/core.js", "zod", "node_modules/zod"],
    ["node_modules/@pinojs/redact/index.js", "@pinojs/redact", "node_modules/@pinojs/redact"],
    ["node_modules/pino/node_modules/sonic-boom/index.js", "sonic-boom", "node_modules/pino/node_modules/sonic-boom"],
    ["src/main.ts", undefined, undefined],
    ["node_modules/@scope", undefined, undefined],
  ])("%s", (input, name, lockKey) => {
    const p = packageOfInput(input);
    expect(p?.name).toBe(name);
    expect(p?.lockKey).toBe(lockKey);
  });
});

describe("bundledPackages", () => {
  const lock = {
    packages: {
      "node_modules/zod": { version: "4.0.0", license: "MIT", integrity: "sha512-AAAA" },
      "node_modules/commander": { version: "14.0.0", license: "MIT" },
      "node_modules/unused": { version: "1.0.0", license: "MIT" },
    },
  };
  it("lists packages with bytes in the output, once, sorted, from the lock", () => {
    const meta = {
      outputs: {
        "out.cjs": {
          inputs: {
            "src/main.ts": { bytesInOutput: 10 },
            "node_modules/zod/a.js": { bytesInOutput: 5 },
            "node_modules/zod/b.js": { bytesInOutput: 7 },
            "node_modules/commander/index.js": { bytesInOutput: 3 },
            "node_modules/unused/index.js": { bytesInOutput: 0 },
          },
        },
      },
    };
    expect(bundledPackages(meta, lock)).toEqual([
      { name: "commander", version: "14.0.0", license: "MIT", integrity: undefined },
      { name: "zod", version: "4.0.0", license: "MIT", integrity: "sha512-AAAA" },
    ]);
  });
  it("refuses a bundled package missing from the lock", () => {
    const meta = { outputs: { o: { inputs: { "node_modules/ghost/x.js": { bytesInOutput: 1 } } } } };
    expect(() => bundledPackages(meta, lock)).toThrow(/node_modules\/ghost is bundled but not in package-lock/);
  });
});

describe("cycloneDx", () => {
  const doc = cycloneDx({
    version: "1.2.3",
    commit: "abc",
    timestamp: "2026-01-01T00:00:00Z",
    serial: "urn:uuid:00000000-0000-5000-a000-000000000000",
    binary: { sha256: "ff" },
    runtime: { name: "bun", version: "1.4.5" },
    packages: [{ name: "@pinojs/redact", version: "0.4.0", license: "MIT", integrity: "sha512-AQI=" }],
    koffi: { version: "3.3.4", nativeSha256: "ee" },
    libcrun: { upstream: "1.8.1", debianSource: "1.8.1-1+deb12u1", sha256: "dd", patch: "p.patch" },
  });
  it("names the binary, the runtime, each bundled package, koffi and libcrun, and their dependency edges", () => {
    expect(doc.bomFormat).toBe("CycloneDX");
    expect(doc.specVersion).toBe("1.5");
    expect(doc.metadata.component).toMatchObject({ name: "nexcage", version: "1.2.3", hashes: [{ alg: "SHA-256", content: "ff" }] });
    expect(doc.components.map((c: { name: string }) => c.name)).toEqual(["bun", "@pinojs/redact", "koffi", "libcrun"]);
    expect(doc.components[1]).toMatchObject({ purl: "pkg:npm/%40pinojs/redact@0.4.0", hashes: [{ alg: "SHA-512", content: "0102" }] });
    expect(doc.components[3]).toMatchObject({ version: "1.8.1", purl: "pkg:deb/debian/crun@1.8.1-1+deb12u1?arch=amd64" });
    expect(doc.dependencies[0].dependsOn).toHaveLength(4);
  });
  it.each([
    ["zod", "4.0.0", "pkg:npm/zod@4.0.0"],
    ["@oven/bun-linux-x64", "1.4.5", "pkg:npm/%40oven/bun-linux-x64@1.4.5"],
  ])("purl of %s", (n, v, purl) => expect(npmPurl(n, v)).toBe(purl));
});
