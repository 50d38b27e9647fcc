import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BackendError, NexcageError } from "../../src/errors.js";
import { blobPath, readImageFromLayout } from "../../src/images/image-config.js";
import { specFromImage } from "../../src/images/image-spec.js";
import { parseGroup, parsePasswd, resolveUser } from "../../src/images/passwd.js";
import { pullError } from "../../src/images/skopeo-errors.js";
import { parseStorageCfg, templateDirOf } from "../../src/images/storage-cfg.js";
import { parseTarHeader } from "../../src/images/tar-members.js";
import { isOneLine, mutate, mutationArb, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

const lines = (parts: fc.Arbitrary<string>) => fc.array(parts, { maxLength: 12 }).map((a) => a.join("\n"));

describe("fuzz: image parsers", () => {
  it("storage.cfg: any text parses; a storage's template dir is an absolute path ending in template/cache, or a one-line BackendError", { timeout: timeoutFor(1000, 2) }, () => {
    const line = fc.oneof(
      nastyString(30),
      fc.tuple(fc.constantFrom("dir", "nfs", "lvmthin", "zfspool", "cifs"), fc.constantFrom("local", "s1", "x")).map(([t, id]) => `${t}: ${id}`),
      fc.tuple(fc.constantFrom("\tpath ", "\tcontent ", "\tdisable", " path  ", "\tnodes "), nastyString(20)).map(([k, v]) => k + v),
      fc.constantFrom("\tcontent vztmpl,iso", "\tpath /var/lib/vz", "\tcontent rootdir", "#x"),
    );
    fc.assert(
      fc.property(lines(line), fc.constantFrom("local", "s1", "x", "nope"), (text, id) => {
        const storages = withinMs(1000, "parseStorageCfg", () => parseStorageCfg(text));
        try {
          const dir = templateDirOf(storages, id);
          expect(dir.endsWith("/template/cache")).toBe(true);
          expect(storages.get(id)?.content).toContain("vztmpl");
        } catch (e) {
          expect(e).toBeInstanceOf(BackendError);
          expect(isOneLine((e as Error).message)).toBe(true);
        }
      }),
      params(1000),
    );
  });

  it("tar headers: any 512 bytes give a header, the end marker, or an Error (never a hang or a crash of another kind)", { timeout: timeoutFor(2000, 1) }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), (bytes) => {
        const b = Buffer.from(bytes);
        try {
          const h = withinMs(500, "parseTarHeader", () => parseTarHeader(b));
          if (h) {
            expect(Number.isSafeInteger(h.size)).toBe(true);
            expect(h.size).toBeGreaterThanOrEqual(0);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/tar/);
        }
      }),
      params(2000),
    );
  });

  it("image users: any User against any passwd/group resolves to ids in range or a one-line BackendError", { timeout: timeoutFor(2000, 1) }, () => {
    const entry = fc.tuple(fc.constantFrom("root", "app", "x", ""), fc.constantFrom("0", "1000", "65534", "-1", "abc", "99999999999")).map(([n, id]) => `${n}:x:${id}:${id}::/:/bin/sh`);
    fc.assert(
      fc.property(
        fc.oneof(nastyString(16), fc.constantFrom("", "root", "app", "1000", "app:app", "0:0", "x:y:z", ":", "1000:", "4294967295")),
        lines(fc.oneof(entry, nastyString(20))),
        lines(fc.oneof(fc.constantFrom("root:x:0:", "app:x:1000:app", "wheel:x:10:app,root"), nastyString(20))),
        (user, passwd, group) => {
          try {
            const u = withinMs(500, "resolveUser", () => resolveUser(user, parsePasswd(passwd), parseGroup(group)));
            for (const id of [u.uid, u.gid, ...u.additionalGids]) {
              expect(Number.isInteger(id)).toBe(true);
              expect(id).toBeGreaterThanOrEqual(0);
              expect(id).toBeLessThanOrEqual(4294967294);
            }
          } catch (e) {
            expect(e).toBeInstanceOf(BackendError);
            expect(isOneLine((e as Error).message)).toBe(true);
          }
        },
      ),
      params(2000),
    );
  });

  it("image layouts with mutated index, manifest and config: a config.json with args, or a one-line NexcageError", { timeout: timeoutFor(500, 4) }, () => {
    const M = "sha256:" + "1".repeat(64);
    const C = "sha256:" + "c".repeat(64);
    const index = { schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: M, size: 1 }] };
    const manifest = { schemaVersion: 2, config: { digest: C, size: 1 }, layers: [] };
    const config = { os: "linux", config: { Entrypoint: ["/bin/sh"], Cmd: ["-c", "x"], Env: ["A=1"], WorkingDir: "/srv", User: "0" } };
    fc.assert(
      fc.property(fc.array(mutationArb, { maxLength: 3 }), fc.array(mutationArb, { maxLength: 3 }), fc.array(mutationArb, { maxLength: 3 }), (mi, mm, mc) => {
        const files: Record<string, string> = {
          "index.json": JSON.stringify(mutate(index, mi)) ?? "",
          [blobPath(M)]: JSON.stringify(mutate(manifest, mm)) ?? "",
          [blobPath(C)]: JSON.stringify(mutate(config, mc)) ?? "",
        };
        const read = (p: string) => {
          if (!Object.hasOwn(files, p)) throw new BackendError(`no ${p}`);
          return files[p]!;
        };
        try {
          const img = withinMs(1000, "readImageFromLayout", () => readImageFromLayout(read));
          const spec = specFromImage(img.config, { hostname: "h", user: { uid: 0, gid: 0, additionalGids: [] }, reference: "r" }) as { process: { args: string[]; cwd: string } };
          expect(spec.process.args.length).toBeGreaterThan(0);
          expect(spec.process.cwd.startsWith("/")).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(NexcageError);
          expect(isOneLine((e as Error).message)).toBe(true);
        }
      }),
      params(500),
    );
  });

  it("skopeo failures: any stderr gives one line that names the reference", { timeout: timeoutFor(1000, 1) }, () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), nastyString(60)), (stderr) => {
        const e = withinMs(500, "pullError", () => pullError("docker.io/library/a:1", "docker.io", "local", stderr));
        expect(isOneLine(e.message)).toBe(true);
        expect(e.message.startsWith("pull docker.io/library/a:1: ")).toBe(true);
      }),
      params(1000),
    );
  });
});
