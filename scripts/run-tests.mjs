#!/usr/bin/env node
// `npm test`: type-check, build, run every vitest suite (unit and e2e), then print the closing line
// "N passed, N failed" that CI reads. A run that executed no test fails.
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

step("npx", ["tsc", "--noEmit"]);
step("npx", ["tsup", "--silent"]);

const dir = mkdtempSync(join(tmpdir(), "nexcage-tests-"));
const report = join(dir, "report.json");
const r = spawnSync("npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)], {
  stdio: "inherit",
  env,
});
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const j = JSON.parse(readFileSync(report, "utf8"));
  passed = j.numPassedTests;
  failed = j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0);
  skipped = j.numPendingTests + j.numTodoTests;
} catch {
  failed += 1;
}
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(r.status !== 0 || failed > 0 || passed === 0 ? 1 : 0);
