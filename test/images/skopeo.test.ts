import { describe, expect, it } from "vitest";
import { classifySkopeoError, pullError, skopeoCause } from "../../src/images/skopeo-errors.js";
import { copyArgs } from "../../src/images/skopeo.js";

const fatal = (msg: string) => `time="2026-12-02T02:10:30Z" level=fatal msg="${msg.replace(/"/g, '\\"')}"`;

const NOT_FOUND = fatal("initializing source docker://127.0.0.1:45123/x/y:z: reading manifest z in 127.0.0.1:45123/x/y: manifest unknown: manifest unknown");
const REFUSED = fatal('initializing source docker://127.0.0.1:45124/x/y:z: pinging container registry 127.0.0.1:45124: Get "http://127.0.0.1:45124/v2/": dial tcp 127.0.0.1:45124: connect: connection refused');
const HTTPS = fatal('initializing source docker://127.0.0.1:45123/x/y:z: pinging container registry 127.0.0.1:45123: Get "https://127.0.0.1:45123/v2/": http: server gave HTTP response to HTTPS client');
const NO_HOST = fatal('initializing source docker://no.invalid/x/y:z: pinging container registry no.invalid: Get "http://no.invalid/v2/": dial tcp: lookup no.invalid on 10.0.0.53:53: no such host');
const AUTH = fatal("initializing source docker://127.0.0.1:40404/p/q:1: reading manifest 1 in 127.0.0.1:40404/p/q: unauthorized: authentication required");
const FULL = fatal("writing blob: write /var/lib/vz/template/cache/a.tar.tmp.1: no space left on device");

describe("skopeo errors", () => {
  it.each([
    [NOT_FOUND, "not-found"],
    [REFUSED, "unreachable"],
    [HTTPS, "tls"],
    [NO_HOST, "unreachable"],
    [AUTH, "unauthorized"],
    [FULL, "no-space"],
    ["something else", "other"],
  ])("%s → %s", (stderr, kind) => {
    expect(classifySkopeoError(stderr)).toBe(kind);
  });

  it("takes logrus' msg as the cause", () => {
    expect(skopeoCause(`Getting image source signatures\n${NOT_FOUND}`)).toBe(
      "initializing source docker://127.0.0.1:45123/x/y:z: reading manifest z in 127.0.0.1:45123/x/y: manifest unknown: manifest unknown",
    );
  });

  it.each([
    [NOT_FOUND, "pull r: no such image in registry reg (unknown repository or tag)"],
    [REFUSED, "pull r: cannot reach registry reg: connect: connection refused"],
    [NO_HOST, "pull r: cannot reach registry reg: lookup no.invalid on 10.0.0.53:53: no such host"],
    [HTTPS, "pull r: TLS to registry reg failed (list it in images.insecureRegistries for plain HTTP): http: server gave HTTP response to HTTPS client"],
    [AUTH, "pull r: registry reg refused access (check the credentials in the auth file): initializing source docker://127.0.0.1:40404/p/q:1: reading manifest 1 in 127.0.0.1:40404/p/q: unauthorized: authentication required"],
    [FULL, "pull r: no space left in template storage 'st'"],
  ])("one actionable line", (stderr, msg) => {
    expect(pullError("r", "reg", "st", stderr).message).toBe(msg);
  });
});

describe("copyArgs", () => {
  const base = { source: "docker://127.0.0.1:5000/a:1", destination: "oci-archive:/t/a_1.tar.tmp.1", registry: "127.0.0.1:5000" };
  it.each([
    [{ ...base, progress: false }, [], ["copy", "--quiet", base.source, base.destination]],
    [{ ...base, progress: true }, ["127.0.0.1:5000"], ["copy", "--src-tls-verify=false", base.source, base.destination]],
    [
      { ...base, progress: false, authFile: "/etc/nexcage/auth.json", digestFile: "/t/.d" },
      ["other:5000"],
      ["copy", "--authfile", "/etc/nexcage/auth.json", "--digestfile", "/t/.d", "--quiet", base.source, base.destination],
    ],
  ])("%j", (req, insecure, argv) => {
    expect(copyArgs(req, insecure)).toEqual(argv);
  });
});
