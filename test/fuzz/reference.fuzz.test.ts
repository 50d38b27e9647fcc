import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import { archiveFileName, parseImageReference, type ImageReference } from "../../src/images/reference.js";
import { isOneLine, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}$/);
const host = fc.oneof(
  fc.constant("localhost"),
  fc.stringMatching(/^[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){1,3}$/),
  fc.ipV4(),
);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);

/** Valid docker-style references, built from the grammar, with what they must normalise to. */
const validRef = fc
  .record({
    host: fc.option(host, { nil: undefined }),
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    path: fc.array(component, { minLength: 1, maxLength: 3 }),
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(digest, { nil: undefined }),
  })
  .map((r) => {
    const domain = r.host === undefined ? undefined : `${r.host}${r.port !== undefined ? `:${r.port}` : ""}`;
    const text = `${domain !== undefined ? `${domain}/` : ""}${r.path.join("/")}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
    const registry = domain ?? "docker.io";
    const repository = domain === undefined && r.path.length === 1 ? `library/${r.path[0]}` : r.path.join("/");
    const t = r.tag ?? (r.digest === undefined ? "latest" : undefined);
    return { text, registry, repository, tag: t, digest: r.digest };
  })
  // without a host, a first component with a '.' would itself be read as a registry host (docker's rule)
  .filter((r) => `${r.registry}/${r.repository}`.length <= 255 && !(r.registry === "docker.io" && r.repository.split("/")[0]!.includes(".") && !r.repository.startsWith("library/")));

function parseOrError(s: string): ImageReference | Error {
  return withinMs(1000, `parseImageReference(${JSON.stringify(s)})`, () => {
    try {
      return parseImageReference(s);
    } catch (e) {
      return e as Error;
    }
  });
}

describe("fuzz: parseImageReference", () => {
  it("any string: a classified reference, or one-line 'invalid image reference' InvalidArgumentError", { timeout: timeoutFor(3000, 1) }, () => {
    const input = fc.oneof(
      fc.string({ maxLength: 40 }),
      nastyString(30),
      fc.tuple(fc.constantFrom("", "docker://", "oci:", "oci-archive:", "local:vztmpl/", "/", "./", "ghcr.io/", "127.0.0.1:5000/"), nastyString(20), fc.constantFrom("", ".tar", ".tar.zst", ":1", "@sha256:", ":v1@sha256:" + "0".repeat(64))).map((p) => p.join("")),
    );
    fc.assert(
      fc.property(input, (s) => {
        const r = parseOrError(s);
        if (r instanceof Error) {
          expect(r).toBeInstanceOf(InvalidArgumentError);
          expect(r.message.startsWith("invalid image reference ")).toBe(true);
          expect(isOneLine(r.message)).toBe(true);
          return;
        }
        expect(["volume", "template", "registry", "path"]).toContain(r.kind);
        if (r.kind === "registry") {
          // normalised form is a fixed point and names a Proxmox-safe template file
          const again = parseImageReference(r.normalized);
          expect(again).toEqual(r);
          expect(archiveFileName(r)).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]*\.tar$/);
          expect(parseImageReference(archiveFileName(r))).toEqual({ kind: "template", file: archiveFileName(r) });
        }
        if (r.kind === "volume") expect(r.volid).toBe(s);
      }),
      params(3000),
    );
  });

  it("references built from the grammar parse to their parts and normalise idempotently", { timeout: timeoutFor(2000, 1) }, () => {
    fc.assert(
      fc.property(validRef, (v) => {
        const r = parseOrError(v.text);
        if (r instanceof Error) throw r;
        expect(r.kind).toBe("registry");
        if (r.kind !== "registry") return;
        expect(r.registry).toBe(v.registry);
        expect(r.repository).toBe(v.repository);
        expect(r.tag).toBe(v.tag);
        expect(r.digest).toBe(v.digest);
        expect(parseImageReference(r.normalized)).toEqual(r);
        expect(parseImageReference(`docker://${v.text}`)).toEqual(r);
      }),
      params(2000),
    );
  });
});
