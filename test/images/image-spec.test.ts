import { describe, expect, it } from "vitest";
import { blobPath, readImageFromLayout } from "../../src/images/image-config.js";
import { imageArgs, specFromImage } from "../../src/images/image-spec.js";
import { parseGroup, parsePasswd, resolveUser } from "../../src/images/passwd.js";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nbad line\nnobody:x:65534:65534::/:/bin/false\n";
const GROUP = "root:x:0:\napp:x:1001:\nwheel:x:10:app,root\naudio:x:29:app\nbroken\n";
const passwd = parsePasswd(PASSWD);
const groups = parseGroup(GROUP);

describe("resolveUser (an image's User against its own passwd/group)", () => {
  it.each([
    ["", { uid: 0, gid: 0, additionalGids: [] }],
    ["root", { uid: 0, gid: 0, additionalGids: [10] }],
    ["app", { uid: 1000, gid: 1001, additionalGids: [10, 29] }],
    ["1000", { uid: 1000, gid: 1001, additionalGids: [10, 29] }],
    ["4242", { uid: 4242, gid: 0, additionalGids: [] }],
    ["4242:77", { uid: 4242, gid: 77, additionalGids: [] }],
    ["app:wheel", { uid: 1000, gid: 10, additionalGids: [] }],
    ["1000:0", { uid: 1000, gid: 0, additionalGids: [] }],
  ])("%j", (user, expected) => {
    expect(resolveUser(user, passwd, groups)).toEqual(expected);
  });

  it.each([
    ["ghost", /"ghost" is not in the image's \/etc\/passwd/],
    ["app:ghosts", /"ghosts" is not in the image's \/etc\/group/],
    ["a:b:c", /not user\[:group\]/],
    [":1", /not user\[:group\]/],
    ["1:", /not user\[:group\]/],
    ["99999999999", /out of range|not in the image/],
  ])("%j is refused", (user, re) => {
    expect(() => resolveUser(user, passwd, groups)).toThrowError(re);
  });
});

describe("specFromImage", () => {
  const cfg = { os: "linux", config: { Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo hi"], Env: ["GREETING=hello", "PATH=/bin"], WorkingDir: "/srv", User: "app", Labels: { "org.example": "x" } } };
  const user = { uid: 1000, gid: 1001, additionalGids: [10] };

  it("maps entrypoint+cmd, env, workdir, user, labels; writable root; no terminal", () => {
    const spec = specFromImage(cfg, { hostname: "web", user, reference: "r:1" }) as any;
    expect(spec.process.args).toEqual(["/bin/sh", "-c", "echo hi"]);
    expect(spec.process.env).toEqual(["GREETING=hello", "PATH=/bin"]);
    expect(spec.process.cwd).toBe("/srv");
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1001, additionalGids: [10] });
    expect(spec.process.terminal).toBe(false);
    expect(spec.process.capabilities.bounding).toContain("CAP_CHOWN");
    expect(spec.root).toEqual({ path: "rootfs", readonly: false });
    expect(spec.hostname).toBe("web");
    expect(spec.annotations).toEqual({ "org.example": "x", "org.opencontainers.image.ref.name": "r:1" });
  });

  it.each([
    [{ config: { Cmd: ["x"] } }, ["x"], ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "/"],
    [{ config: { Entrypoint: ["/e"], Cmd: null, Env: null } }, ["/e"], ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "/"],
    [{ config: { Entrypoint: ["/e"], WorkingDir: "" } }, ["/e"], ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "/"],
  ])("defaults: %j", (c, args, env, cwd) => {
    const spec = specFromImage(c, { hostname: "h", user: { uid: 0, gid: 0, additionalGids: [] }, reference: "r" }) as any;
    expect(imageArgs(c)).toEqual(args);
    expect(spec.process.args).toEqual(args);
    expect(spec.process.env).toEqual(env);
    expect(spec.process.cwd).toBe(cwd);
    expect(spec.process.user).toEqual({ uid: 0, gid: 0 });
  });

  it("StopSignal becomes image-spec's stop signal annotation", () => {
    const spec = specFromImage({ config: { Cmd: ["x"], StopSignal: "SIGQUIT" } }, { hostname: "h", user, reference: "r" }) as any;
    expect(spec.annotations["org.opencontainers.image.stopSignal"]).toBe("SIGQUIT");
  });

  it("args override the image's command (a system template's /sbin/init)", () => {
    expect((specFromImage({}, { hostname: "h", user, reference: "t", args: ["/sbin/init"] }) as any).process.args).toEqual(["/sbin/init"]);
  });

  it.each([
    [{ config: {} }, /has no entrypoint or command/],
    [{ config: { Entrypoint: [], Cmd: [] } }, /has no entrypoint or command/],
    [{ os: "windows", config: { Cmd: ["x"] } }, /is for "windows", not linux/],
    [{ config: { Cmd: ["x"], WorkingDir: "srv" } }, /relative working directory/],
  ])("%j is refused", (c, re) => {
    expect(() => specFromImage(c, { hostname: "h", user, reference: "r" })).toThrowError(re);
  });
});

describe("readImageFromLayout", () => {
  const M1 = "sha256:" + "1".repeat(64);
  const M2 = "sha256:" + "2".repeat(64);
  const C = "sha256:" + "c".repeat(64);
  const files = (index: unknown, extra: Record<string, string> = {}) => {
    const f: Record<string, string> = {
      "index.json": JSON.stringify(index),
      [blobPath(M1)]: JSON.stringify({ schemaVersion: 2, config: { digest: C, size: 2 }, layers: [] }),
      [blobPath(M2)]: JSON.stringify({ schemaVersion: 2, config: { digest: C, size: 2 }, layers: [] }),
      [blobPath(C)]: JSON.stringify({ os: "linux", config: { Cmd: ["/bin/sh"] } }),
      ...extra,
    };
    return (p: string) => {
      if (!(p in f)) throw new Error(`ENOENT ${p}`);
      return f[p]!;
    };
  };
  const desc = (d: string, tag?: string) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d, size: 1, ...(tag ? { annotations: { "org.opencontainers.image.ref.name": tag } } : {}) });

  it("finds the single manifest, or the one with the tag", () => {
    expect(readImageFromLayout(files({ manifests: [desc(M1)] }))).toEqual({ manifestDigest: M1, config: { os: "linux", config: { Cmd: ["/bin/sh"] } } });
    expect(readImageFromLayout(files({ manifests: [desc(M1, "a"), desc(M2, "b")] }), "b").manifestDigest).toBe(M2);
  });

  it.each([
    [{ manifests: [] }, undefined, /holds no manifest/],
    [{ manifests: [desc(M1, "a")] }, "b", /no image tagged "b"/],
    [{ manifests: [desc(M1), desc(M2)] }, undefined, /several images/],
    [{ manifests: [{ ...desc(M1), mediaType: "application/vnd.oci.image.index.v1+json" }] }, undefined, /not an image manifest/],
    [{ nope: 1 }, undefined, /index\.json: manifests/],
  ])("%j refused", (index, tag, re) => {
    expect(() => readImageFromLayout(files(index), tag)).toThrowError(re);
  });

  it("a config that is not JSON is refused with one line", () => {
    expect(() => readImageFromLayout(files({ manifests: [desc(M1)] }, { [blobPath(C)]: "{" }))).toThrowError(/^image config sha256:c+ is not JSON: [^\n]+$/);
  });
});
