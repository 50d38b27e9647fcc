import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleError } from "../../src/errors.js";
import { loadBundle, type Bundle } from "../../src/oci/bundle.js";
import { isOneLine, mutate, mutationArb, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

let base: string;
let bundle: string;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), "nexcage-fuzz-bundle-")));
  bundle = join(base, "bundle");
  mkdirSync(join(bundle, "rootfs"), { recursive: true });
  writeFileSync(join(bundle, "afile"), "");
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const validSpec = fc.record({
  ociVersion: fc.constantFrom("1.0.2", "1.2.0"),
  process: fc.record(
    {
      terminal: fc.boolean(),
      args: fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 3 }),
      env: fc.array(fc.constantFrom("PATH=/bin", "A=b c"), { maxLength: 2 }),
      cwd: fc.constantFrom("/", "/work"),
    },
    { requiredKeys: ["args", "cwd"] },
  ),
  root: fc.record({ path: fc.constantFrom("rootfs", "afile", "missing", "", "/", "../bundle/rootfs"), readonly: fc.boolean() }, { requiredKeys: ["path"] }),
  hostname: fc.string({ maxLength: 8 }),
  annotations: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  mounts: fc.constant([{ destination: "/proc", type: "proc", source: "proc" }]),
}, { requiredKeys: ["ociVersion"] });

/** config.json text: random JSON, mutated specs (missing fields, wrong types), truncated or corrupted JSON, junk. */
const configText: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: fc.tuple(validSpec, fc.array(mutationArb, { maxLength: 3 }), fc.constantFrom(0, 2, "\t")).map(([s, m, indent]) => JSON.stringify(mutate(s, m), null, indent) ?? "") },
  { weight: 2, arbitrary: fc.tuple(validSpec, fc.nat(), fc.constantFrom(0, 2, "\t")).map(([s, cut, indent]) => { const t = JSON.stringify(s, null, indent); return t.slice(0, cut % (t.length + 1)); }) },
  {
    weight: 2,
    arbitrary: fc.tuple(validSpec, fc.nat(), fc.constantFrom("x", "}", "]", ",", ":", "'", "\0", "\n", "\\"), fc.constantFrom(0, 2, "\t")).map(([s, at, c, indent]) => {
      const t = JSON.stringify(s, null, indent);
      const i = at % t.length;
      return t.slice(0, i) + c + t.slice(i + 1);
    }),
  },
  { weight: 1, arbitrary: nastyString(40) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "\ufeff{}", "null", "[]", "{}", '{"ociVersion":"1"}', "\xff\xfe") },
);

function attempt(text: string): { bundle: Bundle } | { error: unknown } {
  writeFileSync(join(bundle, "config.json"), text);
  try {
    return { bundle: withinMs(5000, "loadBundle", () => loadBundle(bundle)) };
  } catch (e) {
    return { error: e };
  }
}

describe("fuzz: loadBundle", () => {
  it("any config.json: a Bundle (with a process and a rootfs directory) or a BundleError naming the bundle", { timeout: timeoutFor(800, 3) }, () => {
    fc.assert(
      fc.property(configText, (text) => {
        const r = attempt(text);
        if ("bundle" in r) {
          expect(r.bundle.path).toBe(bundle);
          expect(r.bundle.spec.process?.args.length).toBeGreaterThan(0);
          expect(statSync(r.bundle.rootfs).isDirectory()).toBe(true);
          expect(typeof r.bundle.annotations).toBe("object");
          return;
        }
        expect(r.error).toBeInstanceOf(BundleError);
        expect((r.error as Error).message.startsWith(`bundle ${bundle}`)).toBe(true);
      }),
      params(800),
    );
  });

  it("BundleError messages are one line", { timeout: timeoutFor(800, 3) }, () => {
    fc.assert(
      fc.property(configText, (text) => {
        const r = attempt(text);
        if ("error" in r) expect(isOneLine((r.error as Error).message), JSON.stringify((r.error as Error).message)).toBe(true);
      }),
      params(800),
    );
  });

  it("bundle paths that are missing, files or odd: BundleError, one line", { timeout: timeoutFor(200, 3) }, () => {
    fc.assert(
      fc.property(fc.constantFrom("missing", "afile", "bundle/afile", "bundle/rootfs", "", ".", "bundle/config.json"), fc.string({ maxLength: 6 }).filter((t) => !t.includes("..")), (rel, tail) => {
        writeFileSync(join(bundle, "config.json"), "{}");
        try {
          loadBundle(join(rel, tail), base);
        } catch (e) {
          expect(e).toBeInstanceOf(BundleError);
          return;
        }
        throw new Error("a bundle without a valid config.json was accepted");
      }),
      params(200),
    );
  });
});
