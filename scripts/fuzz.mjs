#!/usr/bin/env node
// Long fuzz run: the properties in test/fuzz with FUZZ_RUNS runs each (default 10000; the CLI argv
// property caps itself at 500 because every run spawns node, the create property at 300 because
// every run also creates a container with the real crun, as root) and a random seed, printed so that a
// failure can be replayed:  FUZZ_SEED=<seed> FUZZ_RUNS=<n> npx vitest run test/fuzz
// Extra arguments go to vitest, e.g. `node scripts/fuzz.mjs test/fuzz/plan` or
// `node scripts/fuzz.mjs --exclude test/fuzz/cli.fuzz.test.ts`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { randomInt } from "node:crypto";

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS; // it only slows every node start
env.FUZZ_RUNS = env.FUZZ_RUNS || "10000";
env.FUZZ_SEED = env.FUZZ_SEED || String(randomInt(0, 2 ** 31 - 1));

if (!existsSync("dist/nexcage.mjs")) {
  const b = spawnSync("npx", ["tsup", "--silent"], { stdio: "inherit", env });
  if (b.status !== 0) process.exit(b.status || 1);
}

const args = process.argv.slice(2);
// positional arguments (not the value of --exclude) narrow the run; without any, all of test/fuzz
const hasTarget = args.some((a, i) => !a.startsWith("-") && args[i - 1] !== "--exclude");
const targets = hasTarget ? [] : ["test/fuzz"];
console.log(`fuzz: FUZZ_RUNS=${env.FUZZ_RUNS} FUZZ_SEED=${env.FUZZ_SEED}`);
const started = Date.now();
const r = spawnSync("npx", ["vitest", "run", ...targets, ...args], { stdio: "inherit", env });
console.log(`fuzz: ${r.status === 0 ? "passed" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)} s; replay with FUZZ_SEED=${env.FUZZ_SEED} FUZZ_RUNS=${env.FUZZ_RUNS} npx vitest run test/fuzz`);
process.exit(r.status ?? 1);
