#!/usr/bin/env node
// `npm test`: type-check, build, run every vitest suite (unit and e2e), then print the closing line
// "N passed, N failed" that CI reads. A run that executed no test fails.
//
// e2e/deb.test.ts installs the package, and with it /etc/nexcage/config.json, which every other
// nexcage call on the machine would then read: it runs alone, after the others.
// e2e/deb-systemd.test.ts runs with the others: its package goes into a booted Debian 12 in
// systemd-nspawn (its own files, mounts and cgroups, named after the machine), never onto this host,
// and what it builds (build/deb, build/binary, dist/nexcage*) no other suite of that run reads.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS; // it only slows every node start (see docs/performance notes)

function step(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "inherit", env });
  if (r.status !== 0) {
    console.error(`run-tests: ${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

const ALONE = "e2e/deb.test.ts";
const filters = process.argv.slice(2);

/** One vitest run; its counts from the JSON report (a run without a readable report counts as a failure). */
function vitest(args) {
  const dir = mkdtempSync(join(tmpdir(), "nexcage-tests-"));
  const report = join(dir, "report.json");
  const r = spawnSync("npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...args], { stdio: "inherit", env });
  const c = { passed: 0, failed: 0, skipped: 0, ok: r.status === 0 };
  try {
    const j = JSON.parse(readFileSync(report, "utf8"));
    c.passed = j.numPassedTests;
    c.failed = j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0);
    c.skipped = j.numPendingTests + j.numTodoTests;
  } catch {
    c.failed += 1;
  }
  rmSync(dir, { recursive: true, force: true });
  return c;
}

step("npx", ["tsc", "--noEmit"]);
step("npx", ["tsup", "--silent"]);

const runs = [];
if (filters.length > 0) {
  runs.push(vitest(filters));
} else {
  runs.push(vitest(["--exclude", ALONE]));
  runs.push(vitest([ALONE]));
}
const passed = runs.reduce((n, c) => n + c.passed, 0);
const failed = runs.reduce((n, c) => n + c.failed, 0);
const skipped = runs.reduce((n, c) => n + c.skipped, 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(runs.some((c) => !c.ok) || failed > 0 || passed === 0 ? 1 : 0);
