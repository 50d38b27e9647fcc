#!/usr/bin/env node
// Lifecycle benchmark: crun and runc called directly vs nexcage routing to them.
//
//   node bench/lifecycle.mjs [--runs N] [--warmup N] [--env as-is|clean|both] [--nexcage PATH] [--log] [--libcrun]
//
// Needs root, /usr/bin/crun, /usr/sbin/runc, /bin/busybox (static) and a built CLI
// (npm run build -> dist/nexcage.mjs). Prints figures only; no timing is asserted.
// Exit status: 0 when every step succeeded, 1 when a lifecycle step failed, 2 on bad usage or
// missing prerequisites, 130 when interrupted. See bench/README.md for what each figure covers.

import { spawnSync } from "node:child_process";
import {
  chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync,
  rmSync, statSync, symlinkSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { cell, childrenCpuMs, f1, mean, med, nexcageCommand, parseBenchArgs, ratio, table } from "./common.mjs";

const CRUN = "/usr/bin/crun";
const RUNC = "/usr/sbin/runc";
const BUSYBOX = "/bin/busybox";
const TIME = "/usr/bin/time";
const STEPS = ["create", "start", "state", "kill", "delete"];
const STOP_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------- arguments

function usage(msg) {
  if (msg) process.stderr.write(`lifecycle.mjs: ${msg}\n`);
  process.stderr.write("usage: node bench/lifecycle.mjs [--runs N] [--warmup N] [--env as-is|clean|both] [--nexcage PATH] [--log] [--libcrun]\n");
  process.exit(2);
}

const opts = {
  runs: 30,
  warmup: 2,
  env: "both",
  nexcage: resolve(dirname(fileURLToPath(import.meta.url)), "../dist/nexcage.mjs"),
  log: false,
  libcrun: false,
};
parseBenchArgs(process.argv.slice(2), { counts: { "--runs": 1, "--warmup": 0 }, switches: ["--log", "--libcrun"] }, opts, usage);
const LIBCRUN = resolve(dirname(fileURLToPath(import.meta.url)), "../build/libcrun/libcrun.so.1.8.1");
if (opts.libcrun) {
  if (/\.(mjs|cjs|js)$/.test(opts.nexcage)) usage("--libcrun needs the single binary (--nexcage dist/nexcage): node itself is on a writable mount");
  for (const p of [join(dirname(opts.nexcage), "koffi.node"), LIBCRUN]) if (!existsSync(p)) usage(`--libcrun: ${p} missing`);
}

for (const [p, what] of [[CRUN, "crun"], [RUNC, "runc"], [BUSYBOX, "busybox-static"], [opts.nexcage, "nexcage build (npm run build)"]]) {
  if (!existsSync(p)) usage(`${p} missing (${what})`);
}
if (process.getuid && process.getuid() !== 0) process.stderr.write("warning: not root; creating containers will likely fail\n");
if (!readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === "/sys/fs/cgroup/hugetlb")) {
  process.stderr.write(
    "warning: /sys/fs/cgroup/hugetlb is not mounted; crun create may fail on this host. Fix:\n" +
      "  mkdir -p /sys/fs/cgroup/hugetlb; mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb\n",
  );
}

// ---------------------------------------------------------------- environments

const ENV_AS_IS = { ...process.env };
const ENV_CLEAN = { ...process.env };
delete ENV_CLEAN.NODE_EXTRA_CA_CERTS;
const caSet = process.env.NODE_EXTRA_CA_CERTS !== undefined;
const envModes = opts.env === "both" ? ["as-is", "clean"] : [opts.env];
const envFor = (mode) => (mode === "clean" ? ENV_CLEAN : ENV_AS_IS);

// ---------------------------------------------------------------- temp dirs, bundle

const W = mkdtempSync(join(tmpdir(), "nexcage-bench-"));
const bundle = join(W, "bundle");
const outDir = join(W, "out");
mkdirSync(outDir);
const devnull = openSync("/dev/null", "r+");

// ---------------------------------------------------------------- variants

const NX = nexcageCommand(opts.nexcage);
/** With --log: `--log FILE --log-format json`, as containerd passes them, one file per variant. */
const logFlags = (name) => (opts.log ? ["--log", join(W, `log-${name.replace(/[^a-z0-9]+/gi, "-")}.json`), "--log-format", "json"] : []);

// argv prefix of one runtime call; `rt` is the runtime nexcage routes to or the runtime itself.
function makeVariant(name, rt, nexcageEnv) {
  const root = join(W, `root-${name.replace(/[^a-z0-9]+/gi, "-")}`);
  mkdirSync(root);
  if (nexcageEnv === undefined) {
    return { name, rt, root, nexcage: false, cmd: rt === "crun" ? CRUN : RUNC, pre: [...logFlags(name), "--root", root], env: ENV_AS_IS };
  }
  const cfg = join(W, `nexcage-${rt}.json`);
  if (!existsSync(cfg)) writeFileSync(cfg, JSON.stringify({ defaultBackend: rt }) + "\n");
  return {
    name, rt, root, nexcage: true, envMode: nexcageEnv, cfg,
    cmd: NX.cmd, pre: [...NX.pre, ...logFlags(name), "--root", root, "--config", cfg], env: envFor(nexcageEnv),
  };
}

/**
 * --libcrun: the binary, koffi.node and libcrun copied to a read-only bind mount (as the DEB's
 * /usr/lib/nexcage), so that the libcrun driver may be used (docs/crun-driver.md), run with
 * NEXCAGE_CRUN_DRIVER=libcrun and without NODE_EXTRA_CA_CERTS. Unmounted at the end.
 */
const mounts = [];
function libcrunVariant() {
  const dir = join(W, "ro");
  mkdirSync(dir);
  copyFileSync(opts.nexcage, join(dir, "nexcage"));
  chmodSync(join(dir, "nexcage"), 0o755);
  copyFileSync(join(dirname(opts.nexcage), "koffi.node"), join(dir, "koffi.node"));
  copyFileSync(LIBCRUN, join(dir, basename(LIBCRUN)));
  for (const argv of [["--bind", dir, dir], ["-o", "remount,bind,ro", dir]]) {
    const r = spawnSync("mount", argv, { encoding: "utf8" });
    if (r.status !== 0) throw new StepFailed(`mount ${argv.join(" ")} failed: ${r.stderr}`);
    if (argv[0] === "--bind") mounts.push(dir);
  }
  const v = makeVariant("nexcage-crun libcrun", "crun", "clean");
  return { ...v, cmd: join(dir, "nexcage"), env: { ...ENV_CLEAN, NEXCAGE_CRUN_DRIVER: "libcrun" } };
}

const variants = [];
for (const rt of ["crun", "runc"]) {
  variants.push(makeVariant(rt, rt));
  for (const m of envModes) variants.push(makeVariant(`nexcage-${rt} ${m}`, rt, m));
}

// ---------------------------------------------------------------- cleanup, signals

const live = new Map(); // "variant\0id" -> {variant, id}
let interrupted = null;
let cleanedUp = false;

function forceDelete(v, id) {
  spawnSync(v.cmd, [...v.pre, "delete", "--force", id], { stdio: ["ignore", "ignore", "ignore"], env: v.env, timeout: 60_000 });
  if (v.nexcage) {
    // Fallback if nexcage could not clean up: its per-container runtime root (<root>/<id>/<rt>).
    const rtRoot = join(v.root, id, v.rt);
    if (existsSync(rtRoot)) {
      spawnSync(v.rt === "crun" ? CRUN : RUNC, ["--root", rtRoot, "delete", "--force", id], { stdio: "ignore", timeout: 60_000 });
    }
  }
}

function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const { v, id } of live.values()) forceDelete(v, id);
  live.clear();
  for (const m of mounts.reverse()) spawnSync("umount", [m], { stdio: "ignore" });
  try { closeSync(devnull); } catch {}
  try { rmSync(W, { recursive: true, force: true }); } catch (e) {
    process.stderr.write(`warning: could not remove ${W}: ${e.message}\n`);
  }
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    interrupted = sig;
  });
}
process.on("exit", cleanup);

class Interrupted extends Error {}
class StepFailed extends Error {}

// Give pending signal handlers a chance to run (the measuring loop is synchronous).
const tick = () => new Promise((r) => setImmediate(r));
async function checkpoint() {
  await tick();
  if (interrupted) throw new Interrupted(interrupted);
}

// ---------------------------------------------------------------- running one call

let callNo = 0;

/**
 * Runs one runtime call, no shell: stdin /dev/null, stdout and stderr to files (a pipe would be
 * held open by the container's init, which inherits them on create). Returns ms and the outputs.
 */
function call(v, args, { wantStdout = false } = {}) {
  const n = ++callNo;
  const errPath = join(outDir, `${n}.err`);
  const outPath = wantStdout ? join(outDir, `${n}.out`) : null;
  const errFd = openSync(errPath, "w");
  const outFd = outPath ? openSync(outPath, "w") : devnull;
  const argv = [...v.pre, ...args];
  let r, ms, cpu;
  try {
    const c0 = childrenCpuMs(readFileSync);
    const t0 = performance.now();
    r = spawnSync(v.cmd, argv, { stdio: [devnull, outFd, errFd], env: v.env, timeout: 120_000 });
    ms = performance.now() - t0;
    cpu = childrenCpuMs(readFileSync) - c0;
  } finally {
    closeSync(errFd);
    if (outPath) closeSync(outFd);
  }
  const res = {
    ms,
    cpu,
    ok: r.status === 0 && !r.error,
    status: r.status,
    signal: r.signal,
    error: r.error,
    stderr: readFileSync(errPath, "utf8"),
    stdout: outPath ? readFileSync(outPath, "utf8") : "",
    argv: [v.cmd, ...argv],
  };
  rmSync(errPath, { force: true });
  if (outPath) rmSync(outPath, { force: true });
  return res;
}

function fail(v, step, res) {
  const how = res.error ? `error ${res.error.message}` : res.signal ? `signal ${res.signal}` : `exit status ${res.status}`;
  throw new StepFailed(
    `[${v.name}] ${step} failed (${how})\ncommand: ${res.argv.join(" ")}` +
      (v.nexcage ? `\nenvironment: NODE_EXTRA_CA_CERTS ${v.env.NODE_EXTRA_CA_CERTS === undefined ? "unset" : "set"}` : "") +
      `\nstderr:\n${res.stderr || "(empty)\n"}`,
  );
}

const statusOf = (stdout) => {
  try { return JSON.parse(stdout).status; } catch { return undefined; }
};

// ---------------------------------------------------------------- one lifecycle

let idNo = 0;

/** create, start, state, kill KILL, [poll state until stopped], delete. Returns the timings. */
async function lifecycle(v) {
  const id = `nb-${process.pid}-${++idNo}`;
  const key = `${v.name}\0${id}`;
  const t = {};
  const t0 = performance.now();

  live.set(key, { v, id }); // registered before create: a partial create is force-deleted too
  let r = call(v, ["create", "--bundle", bundle, id]);
  if (!r.ok) fail(v, "create", r);
  t.create = r.ms;
  t.cpu = { create: r.cpu };

  r = call(v, ["start", id]);
  if (!r.ok) fail(v, "start", r);
  t.start = r.ms;
  t.cpu.start = r.cpu;

  r = call(v, ["state", id], { wantStdout: true });
  if (!r.ok) fail(v, "state", r);
  t.state = r.ms;
  t.cpu.state = r.cpu;
  const st = statusOf(r.stdout);
  if (st !== "running") process.stderr.write(`warning: [${v.name}] state after start says ${JSON.stringify(st)}, not "running"\n`);

  r = call(v, ["kill", id, "KILL"]);
  if (!r.ok) fail(v, "kill", r);
  t.kill = r.ms;
  t.cpu.kill = r.cpu;

  // Not a step: poll `state` until stopped. Counted in the wall lifecycle, not in the steps.
  const w0 = performance.now();
  let polls = 0;
  for (;;) {
    r = call(v, ["state", id], { wantStdout: true });
    polls++;
    if (!r.ok) fail(v, "state (waiting for stopped)", r);
    if (statusOf(r.stdout) === "stopped") break;
    if (performance.now() - w0 > STOP_TIMEOUT_MS) {
      r.stderr += `\ncontainer still ${JSON.stringify(statusOf(r.stdout))} ${STOP_TIMEOUT_MS} ms after kill KILL\n`;
      fail(v, "wait for stopped", r);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
  }
  t.wait = performance.now() - w0;
  t.polls = polls;

  r = call(v, ["delete", id]);
  if (!r.ok) fail(v, "delete", r);
  t.delete = r.ms;
  t.cpu.delete = r.cpu;
  live.delete(key);

  t.wall = performance.now() - t0;
  t.sum = STEPS.reduce((s, k) => s + t[k], 0);
  return t;
}

// ---------------------------------------------------------------- statistics, formatting

const out = (s = "") => process.stdout.write(s + "\n");

// ---------------------------------------------------------------- main

async function main() {
  const distStamp = () => { try { const s = statSync(opts.nexcage); return `${s.mtimeMs}:${s.size}`; } catch { return "missing"; } };
  const stamp0 = distStamp();
  if (opts.libcrun) variants.splice(1 + envModes.length, 0, libcrunVariant());
  // Bundle: rootfs with /bin/busybox and a sleep symlink; config.json from `crun spec`.
  mkdirSync(join(bundle, "rootfs", "bin"), { recursive: true });
  copyFileSync(BUSYBOX, join(bundle, "rootfs", "bin", "busybox"));
  symlinkSync("busybox", join(bundle, "rootfs", "bin", "sleep"));
  const sp = spawnSync(CRUN, ["spec"], { cwd: bundle, stdio: ["ignore", "ignore", "pipe"] });
  if (sp.status !== 0) throw new StepFailed(`crun spec failed: ${sp.stderr}`);
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  spec.process.terminal = false;
  spec.process.args = ["sleep", "1000"];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec, null, 1));

  const ver = (cmd, args, env) => {
    const r = spawnSync(cmd, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return (r.stdout || r.stderr || "").trim().split("\n")[0];
  };
  out(`nexcage lifecycle benchmark  ${new Date().toISOString()}  runs=${opts.runs} warmup=${opts.warmup} env=${opts.env}`);
  out(`node ${process.version} (${process.execPath}); ${ver(CRUN, ["--version"])}; ${ver(RUNC, ["--version"])}`);
  out(`nexcage: ${opts.nexcage}${NX.pre.length ? "" : " (executed directly)"}: ${ver(NX.cmd, [...NX.pre, "--version"], ENV_CLEAN)}`);
  out(`runtime flags: ${opts.log ? "--log FILE --log-format json before every call (as containerd passes them)" : "none besides --root (and --config for nexcage)"}`);
  out(`NODE_EXTRA_CA_CERTS in this environment: ${caSet ? `set (${process.env.NODE_EXTRA_CA_CERTS})` : "unset"}`);
  for (const m of envModes) {
    out(`  nexcage "${m}" mode runs with NODE_EXTRA_CA_CERTS ${envFor(m).NODE_EXTRA_CA_CERTS === undefined ? "unset" : "set"}`);
  }
  const lib = variants.find((v) => v.name === "nexcage-crun libcrun");
  if (lib) {
    const lv = ver(lib.cmd, ["--version"], lib.env);
    const driver = spawnSync(lib.cmd, ["--version"], { env: lib.env, encoding: "utf8" }).stdout.split("\n").find((l) => l.startsWith("crun driver")) ?? lv;
    out(`  nexcage "libcrun" mode: ${lib.cmd} on a read-only bind mount, NEXCAGE_CRUN_DRIVER=libcrun, NODE_EXTRA_CA_CERTS unset; ${driver}`);
    if (!driver.startsWith("crun driver: libcrun")) throw new StepFailed(`the read-only copy does not use libcrun: ${driver}\n`);
  }
  if (!caSet && envModes.length === 2) out("  (as-is and clean are the same environment here)");
  const h = spawnSync(NX.cmd, [...NX.pre, "--config", join(W, "nexcage-crun.json"), "health"], { env: ENV_CLEAN, encoding: "utf8" });
  out(`nexcage health (config {"defaultBackend":"crun"}), exit ${h.status}:`);
  for (const l of `${h.stdout}${h.stderr}`.trim().split("\n")) out(`  ${l}`);
  out(`bundle ${bundle}: busybox sleep 1000, crun spec, terminal false`);
  out(`loadavg at start: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
  out();

  // ---- lifecycles, round-robin; the start variant rotates every round
  const res = new Map(variants.map((v) => [v.name, []]));
  const total = opts.warmup + opts.runs;
  for (let round = 0; round < total; round++) {
    for (let j = 0; j < variants.length; j++) {
      const v = variants[(round + j) % variants.length];
      const t = await lifecycle(v);
      if (round >= opts.warmup) res.get(v.name).push(t);
      await checkpoint();
    }
    process.stderr.write(`\rlifecycle round ${round + 1}/${total}${round < opts.warmup ? " (warmup)" : ""}   `);
  }
  process.stderr.write("\n");

  // ---- --version startup, round-robin
  const verVariants = [
    { name: "/bin/true (spawn floor)", cmd: "/bin/true", pre: [], env: ENV_AS_IS },
    { name: "crun --version", cmd: CRUN, pre: [], env: ENV_AS_IS },
    { name: "runc --version", cmd: RUNC, pre: [], env: ENV_AS_IS },
    ...envModes.map((m) => ({ name: `nexcage --version ${m}`, cmd: NX.cmd, pre: NX.pre, env: envFor(m) })),
    ...envModes.map((m) => ({ name: `node -e 0 ${m}`, cmd: process.execPath, pre: ["-e", "0"], env: envFor(m) })),
  ];
  const verRes = new Map(verVariants.map((v) => [v.name, []]));
  const verCpu = new Map(verVariants.map((v) => [v.name, []]));
  for (let round = 0; round < total; round++) {
    for (let j = 0; j < verVariants.length; j++) {
      const v = verVariants[(round + j) % verVariants.length];
      const r = call(v, v.name.includes("--version") ? ["--version"] : []);
      if (!r.ok) fail(v, "--version", r);
      if (round >= opts.warmup) verRes.get(v.name).push(r.ms);
      if (round >= opts.warmup) verCpu.get(v.name).push(r.cpu);
    }
    await checkpoint();
  }

  // ---- peak RSS of one `state` of a running container
  const rss = [];
  if (!existsSync(TIME)) {
    out(`peak RSS: skipped, ${TIME} not found (apt-get install time)`);
  } else {
    const rssVariants = variants.filter((v) => v.nexcage || v.name === "crun" || v.name === "runc");
    for (const v of rssVariants) {
      const id = `nb-${process.pid}-rss-${++idNo}`;
      live.set(`${v.name}\0${id}`, { v, id });
      let r = call(v, ["create", "--bundle", bundle, id]);
      if (!r.ok) fail(v, "create (for RSS)", r);
      r = call(v, ["start", id]);
      if (!r.ok) fail(v, "start (for RSS)", r);
      const kb = [];
      for (let i = 0; i < 5; i++) {
        const tf = join(outDir, "time.out");
        const tv = { ...v, cmd: TIME, pre: ["-o", tf, "-f", "%M", v.cmd, ...v.pre] };
        r = call(tv, ["state", id], { wantStdout: true });
        if (!r.ok) fail(v, "state (under /usr/bin/time)", r);
        kb.push(Number(readFileSync(tf, "utf8").trim().split("\n").pop()));
      }
      rss.push({ name: v.name, kb });
      forceDelete(v, id);
      live.delete(`${v.name}\0${id}`);
      await checkpoint();
    }
  }

  // ---------------------------------------------------------------- report
  const rowsOf = [...STEPS, "sum of steps", "stop wait", "lifecycle wall"];
  const pick = (ts, row) => ts.map((t) => (row === "sum of steps" ? t.sum : row === "stop wait" ? t.wait : row === "lifecycle wall" ? t.wall : t[row]));
  out(`Lifecycle, ms, median / p90 over ${opts.runs} runs (each step a separate process; x = nexcage median / direct median)`);
  for (const rt of ["crun", "runc"]) {
    const direct = res.get(rt);
    const modes = rt === "crun" && opts.libcrun ? [...envModes, "libcrun"] : envModes;
    const nx = modes.map((m) => ({ m, ts: res.get(`nexcage-${rt} ${m}`) }));
    const header = ["step", rt, ...nx.flatMap(({ m }) => [`nexcage->${rt} ${m}`, "x"])];
    const rows = rowsOf.map((row) => [
      row,
      cell(pick(direct, row)),
      ...nx.flatMap(({ ts }) => [cell(pick(ts, row)), ratio(med(pick(ts, row)), med(pick(direct, row)))]),
    ]);
    const polls = [direct, ...nx.map((n) => n.ts)].map((ts) => Math.max(...ts.map((t) => t.polls)));
    rows.push(["max state polls", String(polls[0]), ...polls.slice(1).flatMap((p) => [String(p), ""])]);
    out();
    out(table(header, rows).trimEnd());
    // CPU: user+system of the runtime process (and what it waited for), mean per call
    const cpuRows = [...STEPS, "sum of steps"].map((row) => {
      const c = (ts) => mean(ts.map((t) => (row === "sum of steps" ? STEPS.reduce((s, k) => s + t.cpu[k], 0) : t.cpu[row])));
      return [`${row} CPU`, f1(c(direct)), ...nx.flatMap(({ ts }) => [f1(c(ts)), ratio(c(ts), c(direct))])];
    });
    out(table(["CPU ms, mean", rt, ...nx.flatMap(({ m }) => [`nexcage->${rt} ${m}`, "x"])], cpuRows).trimEnd());
    if (rt === "crun") {
      const base = med(pick(direct, "lifecycle wall"));
      for (const { m, ts } of nx) {
        const x = med(pick(ts, "lifecycle wall")) / base;
        const steps = STEPS.map((s) => [s, med(pick(ts, s)) / med(pick(direct, s))]);
        const over = steps.filter(([, r]) => r > 2.5).map(([s, r]) => `${s} ${r.toFixed(2)}x`);
        out(`target (issue 20): nexcage->crun lifecycle <= 2x crun. ${m}: ${x.toFixed(2)}x crun = ${(x / 2).toFixed(2)}x the target${x <= 2 ? " (met)" : ""}`);
        out(`  every command <= 2.5x crun's: ${over.length === 0 ? "met" : `not met (${over.join(", ")})`}; per command: ${steps.map(([s, r]) => `${s} ${r.toFixed(2)}x`).join(", ")}`);
      }
      const lib = nx.find((n) => n.m === "libcrun");
      const cli = nx.find((n) => n.m === "clean");
      if (lib && cli) {
        out(`  libcrun driver vs CLI driver (both clean), median per command: ${STEPS.map((s) => `${s} ${ratio(med(pick(lib.ts, s)), med(pick(cli.ts, s)))}`).join(", ")}`);
      }
    }
  }
  out();
  out(`Startup, ms, median / p90 over ${opts.runs} runs`);
  out(table(["command", "median / p90", "x crun", "CPU ms, mean"], verVariants.map((v) => {
    const xs = verRes.get(v.name);
    return [v.name, cell(xs), ratio(med(xs), med(verRes.get("crun --version"))), f1(mean(verCpu.get(v.name)))];
  })).trimEnd());
  if (rss.length) {
    out();
    out("Peak RSS of one `state` of a running container (/usr/bin/time -f %M), MB, median of 5");
    out(table(["variant", "max RSS MB"], rss.map((r) => [`${r.name} state`, (med(r.kb) / 1024).toFixed(1)])).trimEnd());
  }
  out();
  out(`loadavg at end: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
  if (distStamp() !== stamp0) out(`\nWARNING: ${opts.nexcage} changed during the run (rebuilt?); figures may mix builds`);
  out();
  out("lifecycle wall = create..delete end to end, including the stop wait (state polls until stopped after kill KILL)");
  out("and the benchmark's own per-call overhead; sum of steps excludes the stop wait.");
}

let code = 0;
try {
  await main();
} catch (e) {
  if (e instanceof Interrupted) {
    process.stderr.write(`\ninterrupted (${e.message}); cleaning up\n`);
    code = 130;
  } else if (e instanceof StepFailed) {
    process.stderr.write(`\n${interrupted ? `interrupted (${interrupted})\n` : ""}${e.message}`);
    code = interrupted ? 130 : 1;
  } else {
    process.stderr.write(`\n${e?.stack ?? e}\n`);
    code = 1;
  }
} finally {
  cleanup();
}
process.exit(code);
