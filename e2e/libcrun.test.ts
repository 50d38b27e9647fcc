import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LIBCRUN_FILE } from "../src/backends/crun/driver.js";
import { Cleanup, configFile, makeBundle, nexcage, nexcageMessage, REPO, tempDir, waitFor, rootEntries } from "./helpers.js";
import { RO_NODE } from "./paths.js";

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

const LIB = join(REPO, "build", "libcrun", LIBCRUN_FILE);

/** A `crun` that only records that it was run, and fails. */
function spyCrun(): { path: string; marker: string } {
  const dir = cleanup.dir(tempDir("spy"));
  const marker = join(dir, "crun-was-run");
  const path = join(dir, "crun");
  writeFileSync(path, `#!/bin/sh\necho "$@" >> ${marker}\nexit 1\n`);
  chmodSync(path, 0o755);
  return { path, marker };
}

const stateOf = async (root: string, id: string, config: string) => JSON.parse((await nexcage(root, ["state", id], { config, node: RO_NODE })).stdout).status;

describe("crun backend, libcrun driver", () => {
  it("the library nexcage uses was built by packaging/libcrun/build.sh", () => {
    expect(existsSync(LIB)).toBe(true);
  });

  it("create, start, kill and delete go through FFI: no crun process is executed", async () => {
    const spy = spyCrun();
    const root = cleanup.dir(tempDir("ffi"));
    const config = configFile({ backends: { crun: { driver: "libcrun", path: spy.path } } });
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, "ffi1");
    const n = (args: string[]) => nexcage(root, args, { config, node: RO_NODE });
    const created = await n(["create", "-b", bundle, id]);
    expect(created).toMatchObject({ code: 0 });
    expect(await stateOf(root, id, config)).toBe("created");
    expect((await n(["start", id])).code).toBe(0);
    expect(await stateOf(root, id, config)).toBe("running");
    expect((await n(["kill", id, "KILL"])).code).toBe(0);
    expect(await waitFor(async () => (await stateOf(root, id, config)) === "stopped")).toBe(true);
    expect((await n(["delete", id])).code).toBe(0);
    expect(existsSync(spy.marker)).toBe(false);
    // the same calls through the CLI driver do run that crun (and fail with its exit status)
    const viaCli = await nexcage(root, ["create", "-b", bundle, "cli1"], { config: configFile({ backends: { crun: { driver: "cli", path: spy.path } } }) });
    expect(viaCli.code).toBe(1);
    expect(existsSync(spy.marker)).toBe(true);
    expect(rootEntries(root)).toEqual([]);
  });

  it("--debug and version say which driver is active and why", async () => {
    const root = cleanup.dir(tempDir("why"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, "why1");
    const r = await nexcage(root, ["--debug", "create", "-b", bundle, id], { node: RO_NODE });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/crun driver: libcrun \(backends\.crun\.driver is auto; .*is on a read-only mount/);
    expect((await nexcage(root, ["--version"], { node: RO_NODE })).stdout).toMatch(/^crun driver: libcrun \(.*libcrun\.so\.1\.8\.1\)$/m);
    expect((await nexcage(root, ["delete", "--force", id], { node: RO_NODE })).code).toBe(0);
  });

  it("containers made by one driver are driven by the other (same crun state root)", async () => {
    const root = cleanup.dir(tempDir("interop"));
    const ffi = configFile({ backends: { crun: { driver: "libcrun" } } });
    const cli = configFile({ backends: { crun: { driver: "cli" } } });
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const as = (config: string) => (args: string[]) => nexcage(root, args, { config, node: RO_NODE });
    const a = cleanup.nexcage(root, "by-ffi");
    const b = cleanup.nexcage(root, "by-cli");
    expect((await as(ffi)(["create", "-b", bundle, a])).code).toBe(0);
    expect((await as(cli)(["create", "-b", bundle, b])).code).toBe(0);
    expect((await as(cli)(["start", a])).code).toBe(0);
    expect((await as(ffi)(["start", b])).code).toBe(0);
    expect(await stateOf(root, a, cli)).toBe("running");
    expect(await stateOf(root, b, ffi)).toBe("running");
    expect((await as(ffi)(["kill", a, "KILL"])).code).toBe(0);
    expect((await as(cli)(["kill", b, "KILL"])).code).toBe(0);
    expect(await waitFor(async () => (await stateOf(root, a, cli)) === "stopped" && (await stateOf(root, b, ffi)) === "stopped")).toBe(true);
    expect((await as(cli)(["delete", a])).code).toBe(0);
    expect((await as(ffi)(["delete", b])).code).toBe(0);
    expect(rootEntries(root)).toEqual([]);
  });
});

describe("fallback to the crun CLI", () => {
  it("auto with the library missing works through the CLI and says so", async () => {
    const root = cleanup.dir(tempDir("nolib"));
    const config = configFile({ backends: { crun: { driver: "auto", libcrunPath: "/nonexistent/libcrun.so.1.8.1" } } });
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, "nolib");
    const r = await nexcage(root, ["--debug", "run", "-d", "-b", bundle, id], { config, node: RO_NODE });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/crun driver: cli \(backends\.crun\.driver is auto and libcrun is not usable: backends\.crun\.libcrunPath \/nonexistent\/libcrun\.so\.1\.8\.1 does not exist\)/);
    expect(await stateOf(root, id, config)).toBe("running");
    expect((await nexcage(root, ["delete", "-f", id], { config, node: RO_NODE })).code).toBe(0);
  });

  it("auto with a library of the wrong version falls back; libcrun refuses it before creating anything", async () => {
    const dir = cleanup.dir(tempDir("wrongver"));
    mkdirSync(join(dir, "lib"));
    const lib = join(dir, "lib", LIBCRUN_FILE);
    copyFileSync(LIB, lib);
    writeFileSync(join(dir, "lib", "VERSION"), "1.9.0\n");
    const root = cleanup.dir(tempDir("wrongver-root"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const auto = configFile({ backends: { crun: { driver: "auto", libcrunPath: lib } } });
    const id = cleanup.nexcage(root, "wv");
    const r = await nexcage(root, ["--debug", "create", "-b", bundle, id], { config: auto, node: RO_NODE });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/crun driver: cli \(libcrun failed to load: .*version 1\.9\.0/);
    expect((await nexcage(root, ["delete", "-f", id], { config: auto, node: RO_NODE })).code).toBe(0);
    const strict = await nexcage(root, ["create", "-b", bundle, id], { config: configFile({ backends: { crun: { driver: "libcrun", libcrunPath: lib } } }), node: RO_NODE });
    expect(strict.code).toBe(1);
    expect(nexcageMessage(strict.stderr)).toMatch(/^crun driver libcrun cannot be used: libcrun failed to load: .*version 1\.9\.0/);
    expect(rootEntries(root)).toEqual([]);
  });
});

describe("CVE-2019-5736: the libcrun driver never runs from a writable executable", () => {
  it("driver libcrun refuses a writable node; auto uses the crun CLI instead; NEXCAGE_CRUN_DRIVER overrides the config", async () => {
    const root = cleanup.dir(tempDir("cve"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, "cve1");
    const strict = configFile({ backends: { crun: { driver: "libcrun" } } });
    const refused = await nexcage(root, ["create", "-b", bundle, id], { config: strict });
    expect(refused.code).toBe(1);
    expect(nexcageMessage(refused.stderr)).toMatch(/^crun driver libcrun \(backends\.crun\.driver\) cannot be used: .* is on a writable mount .*CVE-2019-5736/);
    expect(rootEntries(root)).toEqual([]);
    const viaEnv = await nexcage(root, ["create", "-b", bundle, id], { env: { NEXCAGE_CRUN_DRIVER: "libcrun" } });
    expect(nexcageMessage(viaEnv.stderr)).toMatch(/^crun driver libcrun \(NEXCAGE_CRUN_DRIVER\) cannot be used/);
    const auto = await nexcage(root, ["--debug", "create", "-b", bundle, id]);
    expect(auto.code).toBe(0);
    expect(auto.stderr).toMatch(/crun driver: cli \(backends\.crun\.driver is auto and libcrun is not usable: .*writable mount.*CVE-2019-5736/);
    expect((await nexcage(root, ["version"])).stdout).toMatch(/^crun driver: cli \(.*CVE-2019-5736\)\)$/m);
    expect((await nexcage(root, ["delete", "-f", id])).code).toBe(0);
    const bad = await nexcage(root, ["state", id], { env: { NEXCAGE_CRUN_DRIVER: "ffi" } });
    expect(bad.code).toBe(1);
  });
});
