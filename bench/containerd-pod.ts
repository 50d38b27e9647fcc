#!/usr/bin/env -S npx tsx
// containerd pod bench: `ctr run --rm IMAGE ID true` through Debian's containerd 1.6.20 and its
// io.containerd.runc.v2 shim, with crun as the shim's runc binary and with nexcage (crun backend)
// in the same containerd, alternated. A pod costs the runtime about a dozen calls under containerd
// (create, start, state, kill, delete, ...): this measures what a whole task costs end to end.
//
//   npx tsx bench/containerd-pod.ts [--runs N] [--parallel N] [--rounds N] [--nexcage PATH]
//
// --runs: sequential runs per runtime (default 20); --parallel: runs started at once in one batch
// (default 5); --rounds: batches per runtime (default 4). --nexcage: the runtime binary the shim
// runs (default dist/nexcage, the shipped single executable from packaging/build-binary.mjs).
// Prints medians, p90s and ratios; asserts nothing. Needs root, containerd, crun, busybox-static.
// Exit status: 0 when every run succeeded, 1 when one failed, 2 on bad usage.
// The containerd, its image and every task are the e2e harness's (e2e/containerd-harness.ts), which
// removes every task, container, mount, cgroup and its temp dir when the bench ends or fails.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { ContainerdHarness, type Run } from "../e2e/containerd-harness.js";
import { cell, f1, loadavg, med, parseBenchArgs, ratio, table } from "./common.mjs";

const CRUN = "/usr/bin/crun";

function usage(msg?: string): never {
  if (msg) process.stderr.write(`containerd-pod: ${msg}\n`);
  process.stderr.write("usage: npx tsx bench/containerd-pod.ts [--runs N] [--parallel N] [--rounds N] [--nexcage PATH]\n");
  process.exit(2);
}

const opts = { runs: 20, parallel: 5, rounds: 4, nexcage: resolve(dirname(fileURLToPath(import.meta.url)), "../dist/nexcage") };
parseBenchArgs(process.argv.slice(2), { counts: { "--runs": 1, "--parallel": 1, "--rounds": 1 } }, opts, usage);
for (const [p, what] of [[CRUN, "crun"], [opts.nexcage, "nexcage single binary (node packaging/build-binary.mjs)"]] as const) {
  if (!existsSync(p)) usage(`${p} missing (${what})`);
}

const RUNTIMES = [
  { name: "crun", binary: CRUN },
  { name: "nexcage", binary: opts.nexcage },
] as const;

/** One `ctr run --rm` of `true` with this runtime binary; its wall time in ms. */
async function runOnce(h: ContainerdHarness, binary: string, id: string): Promise<number> {
  const t0 = performance.now();
  h.track(id);
  const flags = ["--rm", "--runtime", "io.containerd.runc.v2", "--runc-binary", binary, "--runc-root", h.runcRoot, "--fifo-dir", h.fifoDir];
  const r: Run = await h.ctr(["run", ...flags, h.image, id, "true"]);
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`ctr run ${id} with ${binary} exited ${r.code}: ${r.stderr.trim()}`);
  return ms;
}

let h: ContainerdHarness | undefined;
let failed = false;
const stopAll = async () => {
  const x = h;
  h = undefined;
  await x?.stop();
};
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(sig, () => {
    void stopAll().finally(() => process.exit(130));
  });
}

try {
  h = await ContainerdHarness.start({ runtime: { binary: CRUN } });
  const kernel = readFileSync("/proc/version", "utf8").split(" ").slice(0, 3).join(" ");
  process.stdout.write(`containerd pod bench: ${opts.runs} sequential and ${opts.rounds} x ${opts.parallel} parallel \`ctr run --rm\` of busybox true per runtime\n`);
  process.stdout.write(`kernel: ${kernel}; load before: ${loadavg(readFileSync)}\n`);
  const driver = execFileSync(opts.nexcage, ["--version"], { encoding: "utf8" }).split("\n").find((l) => l.startsWith("crun driver"));
  process.stdout.write(`nexcage: ${opts.nexcage} (${driver ?? "crun driver: ?"})\n\n`);

  // one warm-up run each (image unpack into the snapshotter, page cache)
  for (const rt of RUNTIMES) await runOnce(h, rt.binary, `warm-${rt.name}-${process.pid}`);

  const seq: Record<string, number[]> = { crun: [], nexcage: [] };
  for (let i = 0; i < opts.runs; i++) {
    const order = i % 2 === 0 ? RUNTIMES : [...RUNTIMES].reverse();
    for (const rt of order) seq[rt.name]!.push(await runOnce(h, rt.binary, `seq-${rt.name}-${process.pid}-${i}`));
  }
  const par: Record<string, number[]> = { crun: [], nexcage: [] };
  for (let i = 0; i < opts.rounds; i++) {
    const order = i % 2 === 0 ? RUNTIMES : [...RUNTIMES].reverse();
    for (const rt of order) {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: opts.parallel }, (_, k) => runOnce(h!, rt.binary, `par-${rt.name}-${process.pid}-${i}-${k}`)));
      par[rt.name]!.push(performance.now() - t0);
    }
  }

  const rows = [
    ["sequential run (ms, median / p90)", cell(seq.crun!), cell(seq.nexcage!), ratio(med(seq.nexcage!), med(seq.crun!))],
    [`${opts.parallel} parallel runs, batch (ms)`, cell(par.crun!), cell(par.nexcage!), ratio(med(par.nexcage!), med(par.crun!))],
  ];
  process.stdout.write(table(["", "crun", "nexcage", "ratio"], rows));
  const r = med(seq.nexcage!) / med(seq.crun!);
  process.stdout.write(`\nsequential ratio ${f1(r)}x against the 2x target: ${r <= 2 ? "within" : "over"}\n`);
  process.stdout.write(`load after: ${loadavg(readFileSync)}\n`);
} catch (e) {
  failed = true;
  process.stderr.write(`containerd-pod: ${e instanceof Error ? e.message : String(e)}\n`);
} finally {
  try {
    await stopAll();
  } catch (e) {
    failed = true;
    process.stderr.write(`containerd-pod: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}
process.exit(failed ? 1 : 0);
