import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../src/exec/run.js";
import { Cleanup, configFile, nexcage, nexcageMessage, REPO, tempDir, waitFor, rootEntries } from "./helpers.js";
import { RO_NODE } from "./paths.js";
import { SIM, simLxcSettings } from "./pve-sim.js";
import { buildImage, LocalRegistry, pushImage } from "./registry.js";

/**
 * Images end to end: a private registry (Debian's docker-registry) on 127.0.0.1, busybox images
 * built here with umoci and pushed with skopeo, then pull / images / rmi and create --image through
 * crun and through the pct stand-in on real LXC, checking the image's entrypoint, env, workdir and
 * user inside the running container. Failures must leave nothing behind.
 */
const cleanup = new Cleanup();
const work = cleanup.dir(tempDir("images"));
chmodSync(work, 0o755);
const CREDS = { user: "nexcage", password: "s3cret-Pa55word" };
const registry = new LocalRegistry(mkd(join(work, "registry")));
const authRegistry = new LocalRegistry(mkd(join(work, "registry-auth")), CREDS);

// the crun side: its own storage.cfg with a template storage and a small tmpfs one
const vz = mkd(join(work, "vz"));
const tiny = mkd(join(work, "tiny"));
const storageCfg = join(work, "storage.cfg");
const localCache = join(vz, "template/cache");
const tinyCache = join(tiny, "template/cache");

// the Proxmox side: the stand-in with its own root and VMID block
const simRoot = cleanup.dir(tempDir("images-pve"));
chmodSync(simRoot, 0o755);
const simCache = join(simRoot, "var/lib/vz/template/cache");
const base = 840_000_000 + (process.pid % 10_000) * 100;
const pct = (args: string[]) => run(join(SIM, "pct"), args, { env: { ...process.env, PVE_SIM_ROOT: simRoot }, timeoutMs: 120_000 });

const root = cleanup.dir(tempDir("images-root"));
let crunConfig = "";
let pveConfig = "";
const n = (args: string[], extra: { config?: string; globals?: string[] } = {}) =>
  nexcage(root, args, { config: extra.config ?? crunConfig, globals: extra.globals, env: { PVE_SIM_ROOT: simRoot } });

/** What the image's entrypoint reports from inside the container (under /tmp of its rootfs). */
const SCRIPT = 'echo "$0 $1" > /tmp/args; env > /tmp/env; pwd > /tmp/cwd; id -u > /tmp/uid; exec sleep 1000';
let manifestDigest = "";

function mkd(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

const ref = (tag: string) => `${registry.host}/test/busybox:${tag}`;
const dirIds = () => rootEntries(root);
const files = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

beforeAll(async () => {
  await registry.start();
  await authRegistry.start();
  const layout = await buildImage(mkd(join(work, "build")), "v1", {
    entrypoint: ["/bin/sh", "-c"],
    cmd: [SCRIPT, "zero", "one"],
    env: ["PATH=/bin", "GREETING=hello from the image"],
    workdir: "/srv",
    user: "app",
    stopSignal: "SIGQUIT",
  });
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  manifestDigest = index.manifests[0].digest;
  await pushImage(layout, "v1", registry, "test/busybox");
  for (const tag of ["v2", "v3"]) await pushAs(layout, tag);
  await pushImage(layout, "v1", authRegistry, "private/busybox", CREDS);

  writeFileSync(storageCfg, `dir: local\n\tpath ${vz}\n\tcontent iso,vztmpl,backup\n\ndir: tiny\n\tpath ${tiny}\n\tcontent vztmpl\n\ndir: isos\n\tpath ${vz}\n\tcontent iso\n`);
  const images = { storageConfig: storageCfg, insecureRegistries: [registry.host, authRegistry.host] };
  crunConfig = configFile({ defaultBackend: "crun", backends: { crun: { driver: "cli" } }, images });
  expect((await pct(["list"])).exitCode).toBe(0); // the stand-in lays out storage.cfg and its directories
  pveConfig = configFile({
    defaultBackend: "proxmox-lxc",
    images: { storageConfig: join(simRoot, "etc/pve/storage.cfg"), insecureRegistries: [registry.host] },
    backends: { "proxmox-lxc": simLxcSettings(simRoot, base) },
  });
}, 180_000);

/** The same image under another tag (skopeo copies the layout's v1 to <repo>:<tag>). */
async function pushAs(layout: string, tag: string): Promise<void> {
  const r = await run("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${registry.host}/test/busybox:${tag}`], { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new Error(r.stderr);
}

afterAll(async () => {
  await cleanup.run();
  for (let v = base; v <= base + 99; v++) {
    if (existsSync(join(simRoot, "etc/pve/lxc", `${v}.conf`))) await pct(["destroy", String(v), "--force", "--purge"]);
  }
  await registry.stop();
  await authRegistry.stop();
}, 300_000);

/** Waits for the entrypoint's report and returns it. */
async function report(pid: number): Promise<{ args: string; env: string; cwd: string; uid: string }> {
  const at = (f: string) => `/proc/${pid}/root/tmp/${f}`;
  expect(await waitFor(async () => existsSync(at("uid")) && readFileSync(at("uid"), "utf8").trim() !== "", 20_000)).toBe(true);
  const read = (f: string) => readFileSync(at(f), "utf8").trim();
  return { args: read("args"), env: read("env"), cwd: read("cwd"), uid: read("uid") };
}

describe("pull, images, rmi", () => {
  it("pull stores an OCI archive named as Proxmox does, with its digest; images lists it (table and json); rmi removes it", async () => {
    // what a pull killed midway left (its pid is gone) is cleared by the next pull of that image
    mkd(localCache);
    writeFileSync(join(localCache, "busybox_v1.tar.tmp.999999999"), "partial");
    writeFileSync(join(localCache, ".busybox_v1.tar.digest.999999999"), "");
    const p = await n(["pull", ref("v1")]);
    expect(p, p.stderr).toMatchObject({ code: 0, stdout: "local:vztmpl/busybox_v1.tar\n" });
    expect(p.stderr).toBe(""); // no terminal: no progress
    expect(files(localCache)).toEqual([".busybox_v1.tar.nexcage.json", "busybox_v1.tar"]);
    const tar = await run("tar", ["--list", "--file", join(localCache, "busybox_v1.tar")], { timeoutMs: 30_000 });
    expect(tar.stdout.split("\n")).toEqual(expect.arrayContaining(["oci-layout", "index.json"]));

    const j = await n(["images", "--format", "json"]);
    expect(j.code).toBe(0);
    const list = JSON.parse(j.stdout);
    expect(list).toEqual([
      expect.objectContaining({ storage: "local", volid: "local:vztmpl/busybox_v1.tar", type: "oci", reference: ref("v1"), digest: manifestDigest }),
    ]);
    expect(list[0].size).toBeGreaterThan(500_000);
    const t = await n(["images"]);
    expect(t.stdout.split("\n")[0]).toMatch(/^VOLUME\s+TYPE\s+SIZE\s+DIGEST\s+REFERENCE$/);
    expect(t.stdout).toContain(`local:vztmpl/busybox_v1.tar   oci    `);
    expect(t.stdout).toContain(manifestDigest);

    // pulling the same reference again replaces it; another registry's busybox:v1 may not overwrite it
    expect((await n(["pull", ref("v1")])).code).toBe(0);
    const clash = await n(["pull", `${authRegistry.host}/private/busybox:v1`]);
    expect(nexcageMessage(clash.stderr)).toBe(`refusing to override existing file 'busybox_v1.tar' in storage 'local' (pulled from ${ref("v1")})`);

    const r = await n(["rmi", ref("v1")]);
    expect(r).toMatchObject({ code: 0, stdout: "Deleted: local:vztmpl/busybox_v1.tar\n" });
    expect(files(localCache)).toEqual([]);
    expect(nexcageMessage((await n(["rmi", ref("v1")])).stderr)).toBe(`no such image: ${ref("v1")}`);
  });

  it("refusals: bad references, unknown tag, unreachable registry, storage without templates, full storage — one line each, nothing left behind", async () => {
    const before = files(localCache);
    const cases: Array<[string[], RegExp]> = [
      [["pull", "Busybox"], /^invalid image reference "Busybox": repository name must be lowercase$/],
      [["pull", "busybox:bad tag"], /^invalid image reference "busybox:bad tag": "bad tag" is not a valid tag$/],
      [["pull", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"], /^pull needs a registry reference; .* is a Proxmox template$/],
      [["pull", ref("nope")], new RegExp(`^pull ${ref("nope").replace(/\./g, "\\.")}: no such image in registry ${registry.host.replace(/\./g, "\\.")} \\(unknown repository or tag\\)$`)],
      [["pull", "127.0.0.1:1/test/busybox:v1"], /^pull 127\.0\.0\.1:1\/test\/busybox:v1: cannot reach registry 127\.0\.0\.1:1: connect: connection refused$/],
      [["pull", "--storage", "isos", ref("v1")], /^storage 'isos' is not configured for content-type 'vztmpl'$/],
      [["pull", "--storage", "nosuch", ref("v1")], /^storage 'nosuch' does not exist$/],
      [["create", "--image", ref("nope"), "img-unknown"], /no such image in registry/],
      [["run", "-d", "--image", "127.0.0.1:1/x:1", "img-unreachable"], /cannot reach registry 127\.0\.0\.1:1/],
      [["create", "--image", "Upper", "img-bad"], /^invalid image reference "Upper": repository name must be lowercase$/],
      [["create", "--image", "local:vztmpl/missing.tar.zst", "img-missing"], /^can't find file 'local:vztmpl\/missing\.tar\.zst'$/],
      [["create", "--image", ref("v1"), "--bundle", "/tmp", "img-both"], /^--image and --bundle cannot be used together$/],
      [["rmi", "nothing.tar.zst"], /^no such image: nothing\.tar\.zst$/],
    ];
    for (const [args, re] of cases) {
      const r = await n(args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(nexcageMessage(r.stderr), args.join(" ")).toMatch(re);
    }
    expect(files(localCache)).toEqual(before);
    expect(dirIds()).toEqual([]);
  });

  it("a full template storage (a 256 KiB tmpfs): a clear error, no partial archive", async () => {
    expect((await run("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", tiny], { timeoutMs: 10_000 })).exitCode).toBe(0);
    try {
      const r = await n(["pull", "--storage", "tiny", ref("v1")]);
      expect(r.code).toBe(1);
      expect(nexcageMessage(r.stderr)).toBe(`pull ${ref("v1")}: no space left in template storage 'tiny'`);
      expect(files(tinyCache)).toEqual([]);
    } finally {
      await run("umount", [tiny], { timeoutMs: 10_000 });
    }
  });

  it("registry credentials come from an auth file and never reach stderr or the --log file, even with --debug", async () => {
    const host = authRegistry.host;
    const denied = await n(["pull", `${host}/private/busybox:v1`, "--storage", "tiny"]);
    expect(nexcageMessage(denied.stderr)).toMatch(new RegExp(`^pull ${host.replace(/\./g, "\\.")}/private/busybox:v1: registry ${host.replace(/\./g, "\\.")} refused access \\(check the credentials in the auth file\\)`));
    const token = Buffer.from(`${CREDS.user}:${CREDS.password}`).toString("base64");
    const authFile = join(work, "auth.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [host]: { auth: token } } }), { mode: 0o600 });
    const log = join(work, "pull.log");
    for (const format of ["json", "text"]) {
      const ok = await n(["pull", "--storage", "tiny", "--authfile", authFile, `${host}/private/busybox:v1`], { globals: ["--debug", "--log", log, "--log-format", format] });
      expect(ok, ok.stderr).toMatchObject({ code: 0, stdout: "tiny:vztmpl/busybox_v1.tar\n" });
      const logText = readFileSync(log, "utf8");
      expect(logText).toContain("skopeo copy"); // the debug log was written
      for (const secret of [CREDS.password, token]) {
        expect(logText).not.toContain(secret);
        expect(ok.stderr).not.toContain(secret);
        expect(ok.stdout).not.toContain(secret);
      }
      // a failing pull with credentials: the error path does not show them either
      const bad = await n(["pull", "--storage", "tiny", "--authfile", authFile, `${host}/private/busybox:none`], { globals: ["--debug", "--log", log] });
      expect(bad.code).toBe(1);
      for (const secret of [CREDS.password, token]) {
        expect(bad.stderr).not.toContain(secret);
        expect(readFileSync(log, "utf8")).not.toContain(secret);
      }
    }
    expect((await n(["rmi", "tiny:vztmpl/busybox_v1.tar"])).code).toBe(0);
    expect(nexcageMessage((await n(["pull", "--authfile", join(work, "none.json"), ref("v1")])).stderr)).toBe(`auth file ${join(work, "none.json")}: no such file`);
  });
});

describe("create --image", () => {
  it("crun: the image is pulled when missing, unpacked under <root>/<id>, and runs with its entrypoint, env, workdir and user; rmi refuses while it is used; delete removes the bundle", async () => {
    const id = cleanup.nexcage(root, "img-crun");
    expect(files(localCache)).not.toContain("busybox_v2.tar");
    const r = await n(["run", "-d", "--image", ref("v2"), id]);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(files(localCache)).toContain("busybox_v2.tar");
    const state = JSON.parse((await n(["state", id])).stdout);
    expect(state).toMatchObject({ id, status: "running", bundle: join(root, id, "bundle") });
    expect(state.annotations["org.opencontainers.image.ref.name"]).toBe(ref("v2"));
    const rec = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8"));
    expect(rec.nexcage.image).toEqual({ reference: ref("v2"), volid: "local:vztmpl/busybox_v2.tar", digest: manifestDigest });
    // a taken id is refused before any pull (an unknown tag would otherwise be the error)
    expect(nexcageMessage((await n(["create", "--image", ref("nope"), id])).stderr)).toBe("container with given ID already exists");
    const out = await report(state.pid);
    expect(out.args).toBe("zero one");
    expect(out.env).toMatch(/^GREETING=hello from the image$/m);
    expect(out.env).toMatch(/^PATH=\/bin$/m);
    expect(out.cwd).toBe("/srv");
    expect(out.uid).toBe("1000");
    const spec = JSON.parse(readFileSync(join(root, id, "bundle", "config.json"), "utf8"));
    expect(spec.process.args).toEqual(["/bin/sh", "-c", SCRIPT, "zero", "one"]);

    const refused = await n(["rmi", ref("v2")]);
    expect(nexcageMessage(refused.stderr)).toBe(`image local:vztmpl/busybox_v2.tar is used by container ${id} (delete it first)`);
    expect(files(localCache)).toContain("busybox_v2.tar");

    expect((await n(["delete", "--force", id])).code).toBe(0);
    expect(existsSync(join(root, id))).toBe(false);
    expect((await n(["rmi", ref("v2")])).code).toBe(0);
  });

  it("crun: an OCI layout path and an OCI archive path work without template storage; a Proxmox template is refused", async () => {
    const layout = join(work, "build", "layout");
    const id = cleanup.nexcage(root, "img-layout");
    const r = await n(["run", "-d", "--image", `oci:${layout}:v1`, id]);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const out = await report(JSON.parse((await n(["state", id])).stdout).pid);
    expect(out.uid).toBe("1000");
    expect((await n(["delete", "--force", id])).code).toBe(0);

    const archive = join(work, "app.tar");
    expect((await run("skopeo", ["copy", "--quiet", `oci:${layout}:v1`, `oci-archive:${archive}`], { timeoutMs: 60_000 })).exitCode).toBe(0);
    const id2 = cleanup.nexcage(root, "img-archive");
    expect((await n(["run", "-d", "--image", archive, id2])).code).toBe(0);
    expect((await report(JSON.parse((await n(["state", id2])).stdout).pid)).env).toMatch(/^GREETING=hello from the image$/m);
    expect((await n(["delete", "--force", id2])).code).toBe(0);

    // an OCI archive placed in template storage as Proxmox's own pull does (no nexcage record)
    mkd(localCache);
    expect((await run("skopeo", ["copy", "--quiet", `oci:${layout}:v1`, `oci-archive:${join(localCache, "app_1.tar")}`], { timeoutMs: 60_000 })).exitCode).toBe(0);
    const listed = JSON.parse((await n(["images", "--format", "json"])).stdout);
    expect(listed).toEqual([expect.objectContaining({ volid: "local:vztmpl/app_1.tar", type: "oci", digest: manifestDigest })]);
    expect(listed[0].reference).toBeUndefined();
    const id3 = cleanup.nexcage(root, "img-pve-pulled");
    expect((await n(["run", "-d", "--image", "local:vztmpl/app_1.tar", id3])).code).toBe(0);
    expect((await report(JSON.parse((await n(["state", id3])).stdout).pid)).cwd).toBe("/srv");
    expect((await n(["delete", "--force", id3])).code).toBe(0);
    expect((await n(["rmi", "app_1.tar"])).code).toBe(0);

    // a rootfs template (not an OCI archive) is only for proxmox-lxc
    expect((await run("tar", ["--create", "--gzip", "--file", join(localCache, "rootfs-1.0_amd64.tar.gz"), "--directory", join(work, "build", "bundle-v1", "rootfs"), "."], { timeoutMs: 30_000 })).exitCode).toBe(0);
    const t = await n(["create", "--image", "local:vztmpl/rootfs-1.0_amd64.tar.gz", "img-tmpl"]);
    expect(nexcageMessage(t.stderr)).toBe("local:vztmpl/rootfs-1.0_amd64.tar.gz is a Proxmox template, usable only by the proxmox-lxc backend (this container routes to crun)");
    expect(dirIds()).toEqual([]);
    expect((await n(["rmi", "rootfs-1.0_amd64.tar.gz"])).code).toBe(0);
  });

  it("crun through its libcrun driver (in-process create): run -d --image behaves the same", async () => {
    const cfg = configFile({ defaultBackend: "crun", backends: { crun: { driver: "libcrun" } }, images: { storageConfig: storageCfg } });
    const id = cleanup.nexcage(root, "img-libcrun");
    const r = await nexcage(root, ["run", "-d", "--image", `oci:${join(work, "build", "layout")}:v1`, id], { config: cfg, node: RO_NODE });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const state = JSON.parse((await nexcage(root, ["state", id], { config: cfg, node: RO_NODE })).stdout);
    expect(state.status).toBe("running");
    const out = await report(state.pid);
    expect(out.uid).toBe("1000");
    expect(out.cwd).toBe("/srv");
    expect((await nexcage(root, ["delete", "--force", id], { config: cfg, node: RO_NODE })).code).toBe(0);
    expect(existsSync(join(root, id))).toBe(false);
  });

  it("crun: an image without a command, and an image whose user does not exist, fail the create and leave nothing", async () => {
    const dir = mkd(join(work, "build-bad"));
    const noCmd = await buildImage(dir, "nocmd", { env: ["A=1"] });
    const ghost = await buildImage(dir, "ghost", { cmd: ["/bin/sleep", "10"], user: "ghost" });
    const a = await n(["create", "--image", `oci:${noCmd}:nocmd`, "img-nocmd"]);
    expect(nexcageMessage(a.stderr)).toBe(`image ${noCmd} has no entrypoint or command to run`);
    const b = await n(["create", "--image", `oci:${ghost}:ghost`, "img-ghost"]);
    expect(nexcageMessage(b.stderr)).toBe(`image user "ghost" is not in the image's /etc/passwd`);
    expect(dirIds()).toEqual([]);
  });

  it("runc: run --image in the foreground returns the image command's exit code and leaves nothing", async () => {
    const layout = await buildImage(mkd(join(work, "build-exit")), "exit3", { entrypoint: ["/bin/sh", "-c"], cmd: ['test "$GREETING" = hi && test "$(pwd)" = /srv && exit 3'], env: ["GREETING=hi"], workdir: "/srv" });
    const runcConfig = configFile({ defaultBackend: "runc", images: { storageConfig: storageCfg } });
    const id = cleanup.nexcage(root, "img-runc");
    const r = await n(["run", "--image", `oci:${layout}:exit3`, id], { config: runcConfig });
    expect(r.code, r.stderr).toBe(3);
    expect(existsSync(join(root, id))).toBe(false);
  });

  it("proxmox-lxc through pct on real LXC: the image's entrypoint, env, workdir and user reach the CT's init; delete removes CT, template and bundle", async () => {
    const id = cleanup.nexcage(root, "img-pve");
    const p = await n(["pull", ref("v3")], { config: pveConfig });
    expect(p, p.stderr).toMatchObject({ code: 0, stdout: "local:vztmpl/busybox_v3.tar\n" });
    expect(files(simCache)).toContain("busybox_v3.tar");
    const r = await n(["run", "-d", "--image", "local:vztmpl/busybox_v3.tar", id], { config: pveConfig });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const rec = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8"));
    const vmid = rec.nexcage.ref.vmid as number;
    expect(rec.nexcage.image).toMatchObject({ volid: "local:vztmpl/busybox_v3.tar", digest: manifestDigest });
    const conf = readFileSync(join(simRoot, "etc/pve/lxc", `${vmid}.conf`), "utf8");
    expect(conf).toMatch(/^entrypoint: \/bin\/sh -c '.*' zero one$/m);
    expect(conf).toMatch(/^lxc\.init\.cwd: \/srv$/m);
    expect(conf).toMatch(/^lxc\.init\.uid: 1000$/m);
    expect(conf).toMatch(/^lxc\.init\.gid: 1000$/m);
    expect(conf).toMatch(/^lxc\.signal\.halt: SIGQUIT$/m);
    const pid = JSON.parse((await n(["state", id], { config: pveConfig })).stdout).pid as number;
    expect((await pct(["status", String(vmid), "--verbose"])).stdout).toMatch(new RegExp(`^pid: ${pid}$`, "m"));
    const out = await report(pid);
    expect(out.args).toBe("zero one");
    expect(out.env).toMatch(/^GREETING=hello from the image$/m);
    expect(out.cwd).toBe("/srv");
    expect(out.uid).toBe("1000");

    expect(nexcageMessage((await n(["rmi", ref("v3")], { config: pveConfig })).stderr)).toBe(`image local:vztmpl/busybox_v3.tar is used by container ${id} (delete it first)`);
    expect((await n(["delete", "--force", id], { config: pveConfig })).code).toBe(0);
    expect(existsSync(join(simRoot, "etc/pve/lxc", `${vmid}.conf`))).toBe(false);
    expect(existsSync(join(root, id))).toBe(false);
    expect(files(simCache).filter((f) => f.includes(id))).toEqual([]);
    expect((await n(["rmi", ref("v3")], { config: pveConfig })).code).toBe(0);
    expect(files(simCache).filter((f) => f.includes("busybox"))).toEqual([]);
  });

  it("proxmox-lxc with ociImages \"pct\": the OCI archive goes to pct create, which maps the image as PVE 9.1 does; nothing unpacked or packed by nexcage", async () => {
    const cfg = JSON.parse(readFileSync(pveConfig, "utf8"));
    const pctConfig = configFile({ ...cfg, backends: { "proxmox-lxc": { ...cfg.backends["proxmox-lxc"], ociImages: "pct" } } });
    const id = cleanup.nexcage(root, "img-pve-oci");
    const before = files(simCache);
    // refused before anything is pulled: proxmox-lxc has no foreground run
    const fg = await n(["run", "--image", ref("v3"), "img-pve-fg"], { config: pctConfig });
    expect(nexcageMessage(fg.stderr)).toBe("backend proxmox-lxc cannot run in the foreground; use run --detach");
    expect(files(simCache)).toEqual(before);
    const r = await n(["run", "-d", "--image", ref("v3"), id], { config: pctConfig }); // pulled when missing
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(files(simCache)).toEqual([...before, ".busybox_v3.tar.nexcage.json", "busybox_v3.tar"].sort());
    expect(readdirSync(join(root, id, "bundle", "rootfs"))).toEqual([]); // pct extracted the layers, not nexcage
    const rec = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8"));
    expect(rec.nexcage.ref.template).toBe("local:vztmpl/busybox_v3.tar");
    expect(rec.nexcage.image).toEqual({ reference: ref("v3"), volid: "local:vztmpl/busybox_v3.tar", digest: manifestDigest });
    const vmid = rec.nexcage.ref.vmid as number;
    const conf = readFileSync(join(simRoot, "etc/pve/lxc", `${vmid}.conf`), "utf8");
    expect(conf).toMatch(/^entrypoint: \/bin\/sh -c '.*' zero one$/m);
    expect(conf).toMatch(/^cmode: console$/m);
    expect(conf).toMatch(/^net0: .*host-managed=1/m);
    expect(conf).toMatch(/^lxc\.init\.uid: 1000$/m);
    expect(conf).toMatch(/^lxc\.init\.cwd: \/srv$/m);
    expect(conf).toMatch(/^lxc\.signal\.halt: SIGQUIT$/m);
    expect(conf.match(/^lxc\.init\.cwd:/gm)).toHaveLength(1); // nexcage added no process lines of its own
    const out = await report(JSON.parse((await n(["state", id], { config: pctConfig })).stdout).pid);
    expect(out.args).toBe("zero one");
    expect(out.env).toMatch(/^GREETING=hello from the image$/m);
    expect(out.cwd).toBe("/srv");
    expect(out.uid).toBe("1000");
    expect((await n(["delete", "--force", id], { config: pctConfig })).code).toBe(0);
    expect(existsSync(join(simRoot, "etc/pve/lxc", `${vmid}.conf`))).toBe(false);
    expect(existsSync(join(root, id))).toBe(false);
    expect(files(simCache)).toContain("busybox_v3.tar"); // the image stays in template storage
    expect((await n(["rmi", ref("v3")], { config: pctConfig })).code).toBe(0);
  });

  it("proxmox-lxc: a failing pct create rolls back the unpacked bundle and packed template", async () => {
    const before = files(simCache);
    const badStorage = configFile({ ...JSON.parse(readFileSync(pveConfig, "utf8")), backends: { "proxmox-lxc": { ...JSON.parse(readFileSync(pveConfig, "utf8")).backends["proxmox-lxc"], storage: "nosuchstore" } } });
    const id = cleanup.nexcage(root, "img-pve-fail");
    const r = await n(["create", "--image", `oci:${join(work, "build", "layout")}:v1`, id], { config: badStorage });
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toMatch(/nosuchstore/);
    expect(existsSync(join(root, id))).toBe(false);
    expect(files(simCache)).toEqual(before);
  });
});

describe("create --image with a Proxmox template", () => {
  it("proxmox-lxc: pct creates the CT from the template itself (its /sbin/init runs); nothing is packed; delete keeps the template", async () => {
    // a rootfs template whose /sbin/init reports like the images above
    const rootfs = join(work, "build", "bundle-v1", "rootfs");
    mkd(join(rootfs, "sbin"));
    writeFileSync(join(rootfs, "sbin", "init"), `#!/bin/sh\n${SCRIPT.replace("exec sleep 1000", "exec /bin/sleep 1000")}\n`, { mode: 0o755 });
    const file = "nexcage-test-1.0_amd64.tar.gz";
    expect((await run("tar", ["--create", "--gzip", "--numeric-owner", "--file", join(simCache, file), "--directory", rootfs, "."], { timeoutMs: 30_000 })).exitCode).toBe(0);
    const id = cleanup.nexcage(root, "img-pve-tmpl");
    const before = files(simCache);
    const r = await n(["run", "-d", "--image", file, id], { config: pveConfig });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(files(simCache)).toEqual(before); // no archive packed from the (empty) bundle rootfs
    const rec = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8"));
    expect(rec.nexcage.ref.template).toBe(`local:vztmpl/${file}`);
    expect(rec.nexcage.ref.archive).toBeUndefined();
    const vmid = rec.nexcage.ref.vmid as number;
    expect(readFileSync(join(simRoot, "etc/pve/lxc", `${vmid}.conf`), "utf8")).toMatch(/^entrypoint: \/sbin\/init$/m);
    const out = await report(JSON.parse((await n(["state", id], { config: pveConfig })).stdout).pid);
    expect(out.uid).toBe("0");
    expect(out.cwd).toBe("/");
    expect((await n(["delete", "--force", id], { config: pveConfig })).code).toBe(0);
    expect(existsSync(join(simRoot, "etc/pve/lxc", `${vmid}.conf`))).toBe(false);
    expect(files(simCache)).toContain(file);

    // the same template by its absolute path (pct create accepts paths from root); for crun it is refused
    const byPath = cleanup.nexcage(root, "img-pve-path");
    const c = await n(["create", "--image", join(simCache, file), byPath], { config: pveConfig });
    expect(c, c.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(readFileSync(join(root, byPath, "state.json"), "utf8")).nexcage.ref.template).toBe(join(simCache, file));
    expect(JSON.parse((await n(["state", byPath], { config: pveConfig })).stdout).status).toBe("created");
    expect((await n(["delete", byPath], { config: pveConfig })).code).toBe(0);
    expect(nexcageMessage((await n(["create", "--image", join(simCache, file), "img-crun-path"])).stderr)).toBe(
      `${join(simCache, file)} is a Proxmox template, usable only by the proxmox-lxc backend (this container routes to crun)`,
    );
    expect((await n(["rmi", `local:vztmpl/${file}`], { config: pveConfig })).code).toBe(0);
    expect(files(simCache)).not.toContain(file);
  });
});

describe("pull on a terminal", () => {
  it("shows skopeo's progress and the digest on the terminal; stdout still ends with the volume id", async () => {
    // util-linux `script` gives nexcage a pseudo-terminal
    const cmd = [process.execPath, join(REPO, "dist", "nexcage.mjs"), "--root", root, "--config", crunConfig, "pull", ref("v1")].map((a) => `'${a}'`).join(" ");
    const r = await run("script", ["--quiet", "--return", "--command", cmd, "/dev/null"], { timeoutMs: 120_000, env: { ...process.env, NEXCAGE_CONFIG: undefined } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("Getting image source signatures");
    expect(r.stdout).toContain("Writing manifest to image destination");
    expect(r.stdout).toContain(`Digest: ${manifestDigest}`);
    expect(r.stdout.trimEnd().split(/\r?\n/).pop()).toBe("local:vztmpl/busybox_v1.tar");
    expect((await n(["rmi", ref("v1")])).code).toBe(0);

    // a failure on a terminal: skopeo's own error is classified, the user sees nexcage's one line
    const bad = cmd.replace(`'${ref("v1")}'`, `'${ref("nope")}'`);
    const f = await run("script", ["--quiet", "--return", "--command", bad, "/dev/null"], { timeoutMs: 120_000, env: { ...process.env, NEXCAGE_CONFIG: undefined } });
    expect(f.exitCode).toBe(1);
    expect(f.stdout.trim()).toBe(`nexcage: pull ${ref("nope")}: no such image in registry ${registry.host} (unknown repository or tag)`);
  });
});
