#!/usr/bin/env node
// CPU per call of two or more builds, alternated: `perf stat -e task-clock` of one call of each
// build in turn, --runs rounds (the order reversed every other round), then the median and p25 of
// each. This is how each start-up change in docs/performance.md was judged: CPU time moves far
// less with the machine's load than wall time. Plain Node ESM, stdlib only; asserts nothing.
//
//   node bench/ab-cpu.mjs [--runs N] --bin A --bin B [--bin ...] -- ARG...
//
// Every build is called with the same ARGs (e.g. `--root R state ID` of a running container).
// Needs perf (Debian's linux-perf). Exit 2 for bad arguments or without perf.
import { spawnSync } from "node:child_process";
import { f1, quantile } from "./common.mjs";

function usage(msg) {
  if (msg) process.stderr.write(`ab-cpu: ${msg}\n`);
  process.stderr.write("usage: node bench/ab-cpu.mjs [--runs N] --bin A --bin B [--bin ...] -- ARG...\n");
  process.exit(msg ? 2 : 0);
}

const argv = process.argv.slice(2);
const bins = [];
let runs = 30;
let i = 0;
for (; i < argv.length && argv[i] !== "--"; i++) {
  if (argv[i] === "--bin" && i + 1 < argv.length) bins.push(argv[++i]);
  else if (argv[i] === "--runs" && /^[1-9][0-9]*$/.test(argv[i + 1] ?? "")) runs = Number(argv[++i]);
  else if (argv[i] === "-h" || argv[i] === "--help") usage();
  else usage(`unknown argument ${argv[i]}`);
}
const args = argv.slice(i + 1);
if (bins.length < 2) usage("give at least two --bin");
if (spawnSync("perf", ["--version"]).status !== 0) usage("perf not found (apt install linux-perf)");

/** One call's task-clock in ms (all threads of the process), or NaN when perf could not tell. */
function cpuMs(bin) {
  const r = spawnSync("perf", ["stat", "-x,", "-e", "task-clock", "--", bin, ...args], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  const line = (r.stderr ?? "").split("\n").find((l) => l.includes("task-clock"));
  return line ? Number(line.split(",")[0]) : NaN;
}

const samples = new Map(bins.map((b) => [b, []]));
for (let round = 0; round < runs; round++) {
  for (const b of round % 2 ? [...bins].reverse() : bins) samples.get(b).push(cpuMs(b));
}
process.stdout.write(`CPU ms per call (perf task-clock), ${runs} alternated rounds: ${args.join(" ")}\n`);
process.stdout.write("median    p25    p75  build\n");
for (const b of bins) {
  const xs = samples.get(b).filter(Number.isFinite);
  process.stdout.write(`${f1(quantile(xs, 0.5)).padStart(6)} ${f1(quantile(xs, 0.25)).padStart(6)} ${f1(quantile(xs, 0.75)).padStart(6)}  ${b}\n`);
}
