#!/usr/bin/env node
// `state` and `list` with many containers in the root: crun and runc called directly vs nexcage
// routing to crun.
//
//   node bench/records.mjs [--records N] [--runs N] [--env as-is|clean|both] [--nexcage PATH]
//
// Each root holds one real running container (busybox sleep) and N-1 copies of its state
// directory under other ids (crun: status + config.json; runc: state.json with the id changed;
// nexcage: the record with the id changed). Every copy names the same live init, so `list` reads
// and checks N entries as it would for N running containers, without starting N containers on a
// shared machine. Copies are removed with rm, never through a runtime (a runtime delete of a copy
// would kill the shared init). Needs root, crun, runc, busybox-static and a built CLI.
// Prints figures only. Exit status: 0 ok, 1 a call failed, 2 bad usage, 130 interrupted.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { cell, childrenCpuMs, f1, mean, med, nexcageCommand, parseBenchArgs, ratio, table } from "./common.mjs";

const CRUN = "/usr/bin/crun";
const RUNC = "/usr/sbin/runc";
const BUSYBOX = "/bin/busybox";
const TIME = "/usr/bin/time";

function usage(msg) {
  if (msg) process.stderr.write(`records.mjs: ${msg}\n`);
  process.stderr.write("usage: node bench/records.mjs [--records N] [--runs N] [--env as-is|clean|both] [--nexcage PATH]\n");
  process.exit(2);
}

const opts = { records: 1000, runs: 15, env: "both", nexcage: resolve(dirname(fileURLToPath(import.meta.url)), "../dist/nexcage.mjs") };
parseBenchArgs(process.argv.slice(2), { counts: { "--records": 1, "--runs": 1 } }, opts, usage);
for (const [p, what] of [[CRUN, "crun"], [RUNC, "runc"], [BUSYBOX, "busybox-static"], [opts.nexcage, "nexcage build (npm run build)"]]) {
  if (!existsSync(p)) usage(`${p} missing (${what})`);
}

const ENV_AS_IS = { ...process.env };
const ENV_CLEAN = { ...process.env };
delete ENV_CLEAN.NODE_EXTRA_CA_CERTS;
const envModes = opts.env === "both" ? ["as-is", "clean"] : [opts.env];
const NX = nexcageCommand(opts.nexcage);

const W = mkdtempSync(join(tmpdir(), "nexcage-bench-records-"));
const devnull = openSync("/dev/null", "r+");
const realId = `nr-${process.pid}-real`;
const copyId = (i) => `nr-${process.pid}-c${String(i).padStart(5, "0")}`;

/** The runtimes: where each keeps a container's state, and how a copy of it is made. */
const runtimes = [
  { name: "crun", cmd: CRUN, pre: [], copy: (from, to, id) => { for (const f of ["status", "config.json"]) copyFileSync(join(from, f), join(to, f)); void id; } },
  { name: "runc", cmd: RUNC, pre: [], copy: (from, to, id) => rewriteId(join(from, "state.json"), join(to, "state.json"), id) },
  {
    name: "nexcage-crun", cmd: NX.cmd, pre: NX.pre, nexcage: true,
    copy: (from, to, id) => rewriteId(join(from, "state.json"), join(to, "state.json"), id),
  },
];
for (const r of runtimes) {
  r.root = join(W, `root-${r.name}`);
  mkdirSync(r.root);
  r.args = r.nexcage ? ["--root", r.root, "--config", join(W, "nexcage-crun.json")] : ["--root", r.root];
}
writeFileSync(join(W, "nexcage-crun.json"), '{"defaultBackend":"crun"}\n');

function rewriteId(from, to, id) {
  const doc = JSON.parse(readFileSync(from, "utf8"));
  doc.id = id;
  writeFileSync(to, JSON.stringify(doc), { mode: 0o600 });
}

let started = [];
let cleanedUp = false;
function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const r of runtimes) {
    // copies first, by rm only: they share the real container's init
    for (let i = 1; i < opts.records; i++) rmSync(join(r.root, copyId(i)), { recursive: true, force: true });
  }
  for (const r of started) spawnSync(r.cmd, [...r.pre, ...r.args, "delete", "--force", realId], { stdio: "ignore", timeout: 60_000, env: ENV_CLEAN });
  try { closeSync(devnull); } catch {}
  rmSync(W, { recursive: true, force: true });
}
let interrupted = null;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => { interrupted = sig; });
process.on("exit", cleanup);

class Failed extends Error {}

function call(r, args, env, wantStdout = false) {
  const outPath = join(W, "call.out");
  const errPath = join(W, "call.err");
  const outFd = wantStdout ? openSync(outPath, "w") : devnull;
  const errFd = openSync(errPath, "w");
  let res, ms, cpu;
  try {
    const c0 = childrenCpuMs(readFileSync);
    const t0 = performance.now();
    res = spawnSync(r.cmd, [...r.pre, ...r.args, ...args], { stdio: [devnull, outFd, errFd], env, timeout: 120_000 });
    ms = performance.now() - t0;
    cpu = childrenCpuMs(readFileSync) - c0;
  } finally {
    if (wantStdout) closeSync(outFd);
    closeSync(errFd);
  }
  if (res.status !== 0 || res.error) {
    throw new Failed(`${r.name} ${args.join(" ")} failed (${res.error?.message ?? `exit ${res.status}`}): ${readFileSync(errPath, "utf8")}`);
  }
  return { ms, cpu, stdout: wantStdout ? readFileSync(outPath, "utf8") : "" };
}

const out = (s = "") => process.stdout.write(s + "\n");

async function main() {
  const bundle = join(W, "bundle");
  mkdirSync(join(bundle, "rootfs", "bin"), { recursive: true });
  copyFileSync(BUSYBOX, join(bundle, "rootfs", "bin", "busybox"));
  symlinkSync("busybox", join(bundle, "rootfs", "bin", "sleep"));
  const sp = spawnSync(CRUN, ["spec"], { cwd: bundle, stdio: "ignore" });
  if (sp.status !== 0) throw new Failed("crun spec failed");
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  spec.process.terminal = false;
  spec.process.args = ["sleep", "1000"];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));

  for (const r of runtimes) {
    started.push(r);
    call(r, ["create", "--bundle", bundle, realId], ENV_CLEAN);
    call(r, ["start", realId], ENV_CLEAN);
    const from = join(r.root, realId);
    for (let i = 1; i < opts.records; i++) {
      const to = join(r.root, copyId(i));
      mkdirSync(to, { mode: 0o711 });
      r.copy(from, to, copyId(i));
    }
    const listed = call(r, ["list", "-q"], ENV_CLEAN, true).stdout.trim().split("\n").filter(Boolean).length;
    if (listed !== opts.records) throw new Failed(`${r.name} list -q shows ${listed} containers, not ${opts.records}`);
    const st = JSON.parse(call(r, ["state", copyId(opts.records - 1 || 1)], ENV_CLEAN, true).stdout || "{}");
    if (opts.records > 1 && st.status !== "running") throw new Failed(`${r.name} state of a copy says ${st.status}, not running`);
  }

  out(`nexcage records benchmark  ${new Date().toISOString()}  records=${opts.records} runs=${opts.runs} env=${opts.env}`);
  out(`nexcage: ${opts.nexcage}${NX.pre.length ? "" : " (executed directly)"}; NODE_EXTRA_CA_CERTS here: ${process.env.NODE_EXTRA_CA_CERTS === undefined ? "unset" : "set"}`);
  out(`each root: 1 running container + ${opts.records - 1} copies of its state under other ids (see the header of this script)`);
  out(`loadavg at start: ${readFileSync("/proc/loadavg", "utf8").trim()}`);

  const cases = [];
  for (const op of ["state", "list"]) {
    const args = op === "state" ? ["state", copyId(Math.floor(opts.records / 2) || 1)] : ["list", "--format", "json"];
    for (const r of runtimes) {
      const modes = r.nexcage ? envModes : ["as-is"];
      for (const m of modes) cases.push({ op, r, args: opts.records === 1 && op === "state" ? ["state", realId] : args, env: m === "clean" ? ENV_CLEAN : ENV_AS_IS, label: r.nexcage ? `${r.name} ${m}` : r.name });
    }
  }
  const times = new Map(cases.map((c) => [c, []]));
  const cpus = new Map(cases.map((c) => [c, []]));
  for (let round = 0; round < opts.runs + 1; round++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(round + j) % cases.length];
      const { ms, cpu } = call(c.r, c.args, c.env);
      if (round > 0) times.get(c).push(ms); // round 0 warms the page cache
      if (round > 0) cpus.get(c).push(cpu);
    }
    await new Promise((res) => setImmediate(res));
    if (interrupted) throw new Failed(`interrupted (${interrupted})`);
    process.stderr.write(`\rround ${round + 1}/${opts.runs + 1}   `);
  }
  process.stderr.write("\n");

  const rssOf = (c) => {
    if (!existsSync(TIME)) return "-";
    const tf = join(W, "time.out");
    const kb = [];
    for (let i = 0; i < 3; i++) {
      call({ ...c.r, cmd: TIME, pre: ["-o", tf, "-f", "%M", c.r.cmd, ...c.r.pre] }, c.args, c.env);
      kb.push(Number(readFileSync(tf, "utf8").trim().split("\n").pop()));
    }
    return (med(kb) / 1024).toFixed(1);
  };

  for (const op of ["state", "list"]) {
    const rows = cases.filter((c) => c.op === op);
    const base = (name) => med(times.get(rows.find((c) => c.r.name === name)));
    out();
    out(`${op === "state" ? "state ID" : "list --format json"} with ${opts.records} containers in the root, ms, median / p90 over ${opts.runs} runs`);
    out(table(["runtime", "median / p90", "x crun", "x runc", "CPU ms, mean", "peak RSS MB"], rows.map((c) => {
      const m = med(times.get(c));
      return [c.label, cell(times.get(c)), ratio(m, base("crun")), ratio(m, base("runc")), f1(mean(cpus.get(c))), rssOf(c)];
    })).trimEnd());
  }
  out();
  out(`loadavg at end: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
}

let code = 0;
try {
  await main();
} catch (e) {
  process.stderr.write(`\n${e instanceof Failed ? e.message : e?.stack ?? e}\n`);
  code = interrupted ? 130 : 1;
} finally {
  cleanup();
}
process.exit(code);
