import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { CRASH_POINTS } from "../src/crash-point.js";

/** The crash-point hook: each named point is placed exactly once, and only the named one kills. */
const REPO = join(import.meta.dirname, "..");
const SRC = join(REPO, "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Runs crash-point.ts in a child (through tsx) that passes `calls` in order, printing each it survived. */
function child(env: string | undefined, calls: string[]) {
  const code = `import { crashPoint } from ${JSON.stringify(join(SRC, "crash-point.ts"))};\nfor (const c of ${JSON.stringify(calls)}) { crashPoint(c); process.stdout.write(c + "\\n"); }`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: REPO,
    env: { ...process.env, NEXCAGE_TEST_CRASH_AT: env },
    encoding: "utf8",
  });
  return { signal: r.signal, survived: r.stdout.split("\n").filter(Boolean), stderr: r.stderr };
}

describe("crash points", () => {
  it("every named point is placed exactly once in src/, and nothing else is", () => {
    const placed = files(SRC).flatMap((path) => [...readFileSync(path, "utf8").matchAll(/crashPoint\("([^"]+)"\)/g)].map((m) => `${m[1]} ${relative(SRC, path)}`));
    expect(placed.map((p) => p.split(" ")[0]).sort()).toEqual([...CRASH_POINTS].sort());
  });

  it.each([
    ["inert without the variable", undefined, ["kill:checked", "kill:checked"], undefined, 2],
    ["another point's name does nothing", "delete:checked", ["kill:checked", "start:checked"], undefined, 2],
    ["SIGKILL at the named point", "start:checked", ["kill:checked", "start:checked", "kill:checked"], "SIGKILL", 1],
    ["#2: the second time there", "store:temp-written#2", ["store:temp-written", "kill:checked", "store:temp-written", "kill:checked"], "SIGKILL", 2],
  ])("%s", (_name, env, calls, signal, survived) => {
    const r = child(env, calls);
    expect(r.signal, r.stderr).toBe(signal ?? null);
    expect(r.survived).toEqual(calls.slice(0, survived));
  });
});
