#!/usr/bin/env node
// Single-binary candidates side by side with crun, in one run, alternated call by call:
// start-up of `--version` and `state <id>`, peak RSS, size, with and without NODE_EXTRA_CA_CERTS,
// and whether koffi and libcrun load from the binary (a libcrun-driver lifecycle from a read-only copy).
//
//   node bench/single-binary.mjs [--runs N] [name=PATH ...]
//
// PATH is an executable (a single binary, with koffi.node beside it) or a .mjs run by this node.
// Default candidates: script=dist/nexcage.mjs binary=dist/nexcage. Build others with
// `node packaging/build-binary.mjs --mode sea|sea-cache|bun --out DIR/nexcage`.
// Needs root, /usr/bin/crun, /bin/busybox, /usr/bin/time, build/libcrun. Prints figures; asserts nothing.
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, openSync, readFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus as cpuList, loadavg, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CRUN = "/usr/bin/crun";
const BUSYBOX = "/bin/busybox";
const LIBCRUN = join(REPO, "build", "libcrun", "libcrun.so.1.8.1");

function usage(msg) {
  process.stderr.write(`single-binary.mjs: ${msg}\nusage: node bench/single-binary.mjs [--runs N] [name=PATH ...]\n`);
  process.exit(2);
}

let runs = 20;
const cands = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--runs") {
    runs = Number(process.argv[++i]);
    if (!Number.isInteger(runs) || runs < 1) usage("bad --runs");
  } else if (/^[a-z0-9-]+=/.test(a)) {
    const [name, p] = a.split(/=(.*)/s, 2);
    cands.push({ name, path: resolve(p) });
  } else usage(`unknown argument ${a}`);
}
if (cands.length === 0) {
  cands.push({ name: "script", path: join(REPO, "dist", "nexcage.mjs") }, { name: "binary", path: join(REPO, "dist", "nexcage") });
}
for (const p of [CRUN, BUSYBOX, "/usr/bin/time", LIBCRUN, ...cands.map((c) => c.path)]) if (!existsSync(p)) usage(`${p} missing`);
for (const c of cands) {
  c.script = c.path.endsWith(".mjs");
  c.argv0 = c.script ? [process.execPath, c.path] : [c.path];
}

const ENVS = { "CA set": { ...process.env, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? "/etc/ssl/certs/ca-certificates.crt" }, "CA unset": { ...process.env } };
delete ENVS["CA unset"].NODE_EXTRA_CA_CERTS;

const W = mkdtempSync(join(tmpdir(), "nexcage-bench-bin-"));
const id = `bench-bin-${process.pid}`;
const crunRoot = join(W, "crun-root");
const ncRoot = join(W, "nexcage-root");
const cfg = join(W, "config.json");
writeFileSync(cfg, JSON.stringify({ defaultBackend: "crun" }));
const mounts = [];
const cleanups = [];

// `create` leaves the container's init holding its stdio: a pipe would keep spawnSync waiting, so a
// created container's stdio goes to a file.
function run(argv, env = ENVS["CA unset"]) {
  const creates = argv.includes("create");
  const errFile = join(W, "create.err");
  const errFd = creates ? openSync(errFile, "w") : "pipe";
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ["ignore", creates ? "ignore" : "pipe", errFd], timeout: 60_000 });
  const ms = performance.now() - t0;
  if (creates) closeSync(errFd);
  return { ms, ok: r.status === 0, out: String(r.stdout ?? ""), err: creates ? readFileSync(errFile, "utf8") : String(r.stderr) };
}
function must(argv, env) {
  const r = run(argv, env);
  if (!r.ok) throw new Error(`${argv.join(" ")} failed: ${r.err.trim()}`);
  return r;
}

function cleanup() {
  for (const f of cleanups.reverse()) {
    try {
      f();
    } catch {}
  }
  for (const m of mounts.reverse()) spawnSync("umount", [m]);
  rmSync(W, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => process.exit(130));

// the bundle: crun's default spec with busybox sleep
const b = join(W, "bundle");
mkdirSync(join(b, "rootfs", "bin"), { recursive: true });
copyFileSync(BUSYBOX, join(b, "rootfs", "bin", "busybox"));
chmodSync(join(b, "rootfs", "bin", "busybox"), 0o755);
for (const d of ["proc", "sys", "dev", "tmp"]) mkdirSync(join(b, "rootfs", d));
spawnSync(CRUN, ["spec"], { cwd: b });
{
  const spec = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
  spec.process.terminal = false;
  spec.process.args = ["/bin/busybox", "sleep", "1000"];
  writeFileSync(join(b, "config.json"), JSON.stringify(spec));
}

// one created container for crun's `state`, one for nexcage's (made through the CLI driver)
must([CRUN, "--root", crunRoot, "create", "--bundle", b, id]);
cleanups.push(() => spawnSync(CRUN, ["--root", crunRoot, "delete", "--force", id]));
const maker = cands[0];
must([...maker.argv0, "--root", ncRoot, "--config", cfg, "create", "--bundle", b, id], { ...ENVS["CA unset"], NEXCAGE_CRUN_DRIVER: "cli" });
cleanups.push(() => spawnSync(maker.argv0[0], [...maker.argv0.slice(1), "--root", ncRoot, "--config", cfg, "delete", "--force", id]));

const targets = [
  { name: "crun", argv0: [CRUN], version: [CRUN, "--version"], state: [CRUN, "--root", crunRoot, "state", id] },
  ...cands.map((c) => ({ name: c.name, argv0: c.argv0, version: [...c.argv0, "--version"], state: [...c.argv0, "--root", ncRoot, "--config", cfg, "state", id] })),
];

// warm-up, then alternate: every target, both commands, both environments, per round
const times = new Map();
const key = (t, cmd, env) => `${t}\0${cmd}\0${env}`;
for (const t of targets) for (const cmd of ["version", "state"]) for (const env of Object.keys(ENVS)) must(t[cmd], ENVS[env]);
for (let r = 0; r < runs; r++) {
  for (const env of Object.keys(ENVS)) {
    for (const t of targets) {
      for (const cmd of ["version", "state"]) {
        const res = must(t[cmd], ENVS[env]);
        if (cmd === "state" && !res.out.includes('"created"')) throw new Error(`${t.name} state: ${res.out}`);
        const k = key(t.name, cmd, env);
        if (!times.has(k)) times.set(k, []);
        times.get(k).push(res.ms);
      }
    }
  }
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// peak RSS of `state` (kB, GNU time's %M), median of 5
function rss(argv, env) {
  const vals = [];
  for (let i = 0; i < 5; i++) {
    const r = spawnSync("/usr/bin/time", ["-f", "%M", ...argv], { env, stdio: ["ignore", "ignore", "pipe"] });
    const lines = String(r.stderr).trim().split("\n");
    vals.push(Number(lines[lines.length - 1]));
  }
  return median(vals);
}

// koffi + libcrun from the candidate: a copy on a read-only bind mount (as the DEB's /usr/lib/nexcage)
function libcrunLifecycle(c) {
  if (c.script) return "n/a (node itself is on a writable mount)";
  const dir = join(W, `ro-${c.name}`);
  mkdirSync(dir);
  copyFileSync(c.path, join(dir, "nexcage"));
  chmodSync(join(dir, "nexcage"), 0o755);
  copyFileSync(join(dirname(c.path), "koffi.node"), join(dir, "koffi.node"));
  copyFileSync(LIBCRUN, join(dir, basename(LIBCRUN)));
  must(["mount", "--bind", dir, dir]);
  mounts.push(dir);
  must(["mount", "-o", "remount,bind,ro", dir]);
  const root = join(W, `root-${c.name}`);
  const cid = `${id}-${c.name}`;
  const nc = (...a) => [join(dir, "nexcage"), "--root", root, "--config", cfg, ...a];
  const env = { ...ENVS["CA unset"], NEXCAGE_CRUN_DRIVER: "libcrun" };
  cleanups.push(() => spawnSync(nc("delete", "--force", cid)[0], nc("delete", "--force", cid).slice(1), { env: { ...env, NEXCAGE_CRUN_DRIVER: "cli" } }));
  try {
    const ver = must(nc("--version"), env).out;
    if (!ver.includes("crun driver: libcrun")) return `no: ${ver.split("\n").find((l) => l.startsWith("crun driver"))}`;
    must(nc("create", "--bundle", b, cid), env);
    must(nc("start", cid), env);
    const st = JSON.parse(must(nc("state", cid), env).out);
    if (st.status !== "running") return `no: state ${st.status}`;
    must(nc("kill", cid, "KILL"), env);
    for (let i = 0; i < 100 && JSON.parse(must(nc("state", cid), env).out).status !== "stopped"; i++) spawnSync("sleep", ["0.05"]);
    must(nc("delete", cid), env);
    return "yes (create/start/state/kill/delete through libcrun)";
  } catch (e) {
    return `no: ${e.message.split("\n")[0]}`;
  }
}

const mb = (n) => (n / 1048576).toFixed(1);
const fmt = (n) => n.toFixed(1);
const crunMed = (cmd, env) => median(times.get(key("crun", cmd, env)));
const cpus = cpuList();
console.log(`# single-binary candidates vs crun (${runs} alternated runs, medians; ${cpus[0]?.model ?? "?"}, ${cpus.length} cores, load ${loadavg()[0].toFixed(1)})\n`);
console.log("| target | env | --version ms | × crun | state ms | × crun |");
console.log("|---|---|---:|---:|---:|---:|");
for (const t of targets) {
  for (const env of Object.keys(ENVS)) {
    const v = median(times.get(key(t.name, "version", env)));
    const s = median(times.get(key(t.name, "state", env)));
    console.log(`| ${t.name} | ${env} | ${fmt(v)} | ${(v / crunMed("version", env)).toFixed(1)} | ${fmt(s)} | ${(s / crunMed("state", env)).toFixed(1)} |`);
  }
}
console.log("\n| target | size MB | peak RSS of state, MB (CA set / unset) | koffi + libcrun load |");
console.log("|---|---:|---:|---|");
for (const t of targets) {
  const c = cands.find((x) => x.name === t.name);
  const size = c ? statSync(c.path).size + (c.script ? 0 : statSync(join(dirname(c.path), "koffi.node")).size) : statSync(CRUN).size;
  const sizeNote = c?.script ? `${mb(size)} + node` : mb(size);
  const r1 = rss(t.state, ENVS["CA set"]) / 1024;
  const r2 = rss(t.state, ENVS["CA unset"]) / 1024;
  const lib = c ? libcrunLifecycle(c) : "-";
  console.log(`| ${t.name} | ${sizeNote} | ${r1.toFixed(1)} / ${r2.toFixed(1)} | ${lib} |`);
}
