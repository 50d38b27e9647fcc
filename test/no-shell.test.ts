import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * No child process is ever started through a shell: only src/exec/run.ts may touch
 * node:child_process, and it spawns with `shell: false` and an argv array.
 */
const SRC = join(import.meta.dirname, "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("no shell anywhere in src/", () => {
  const sources = files(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, "utf8") }));

  it("only src/exec/run.ts imports node:child_process", () => {
    const users = sources.filter((s) => /from ["'](node:)?child_process["']|require\(["'](node:)?child_process["']\)/.test(s.text)).map((s) => s.path);
    expect(users).toEqual(["exec/run.ts"]);
  });

  it("run.ts spawns with shell: false and never uses exec/execSync", () => {
    const run = sources.find((s) => s.path === "exec/run.ts")!.text;
    expect(run).toMatch(/spawn\(file, \[\.\.\.args\], \{[^}]*shell: false/);
    expect(run).not.toMatch(/\bexec(Sync)?\(|execFile(Sync)?\(|spawnSync\(/);
  });

  it("no source passes a shell as the program or builds a `sh -c` command", () => {
    const offenders = sources.filter((s) => /["'](\/bin\/)?(ba)?sh["']\s*,\s*\[\s*["']-c["']|shell:\s*true/.test(s.text)).map((s) => s.path);
    expect(offenders).toEqual([]);
  });
});
