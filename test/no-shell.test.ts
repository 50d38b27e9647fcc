import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * No child process is ever started through a shell: only src/exec/spawn-node.ts may touch
 * node:child_process and only src/exec/spawn-bun.ts Bun.spawn, each with an argv array
 * (`shell: false` for node; Bun.spawn has no shell).
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

  it("only src/exec/spawn-node.ts loads node:child_process, only spawn-bun.ts calls Bun.spawn", () => {
    const nodeUsers = sources.filter((s) => /(from |require\(|getBuiltinModule\()["'](node:)?child_process["']/.test(s.text)).map((s) => s.path);
    expect(nodeUsers).toEqual(["exec/spawn-node.ts"]);
    const bunUsers = sources.filter((s) => /\.spawn(Sync)?\(\{/.test(s.text)).map((s) => s.path);
    expect(bunUsers).toEqual(["exec/spawn-bun.ts"]);
  });

  it("both spawn an argv array, node with shell: false, and neither uses exec/execSync/spawnSync", () => {
    const node = sources.find((s) => s.path === "exec/spawn-node.ts")!.text;
    expect(node).toMatch(/spawn\(file, \[\.\.\.args\], \{[^}]*shell: false/);
    const bun = sources.find((s) => s.path === "exec/spawn-bun.ts")!.text;
    expect(bun).toMatch(/\.spawn\(\{ cmd: \[file, \.\.\.args\],/);
    for (const text of [node, bun]) expect(text).not.toMatch(/\bexec(Sync)?\(|execFile(Sync)?\(|spawnSync\(/);
  });

  it("no source passes a shell as the program or builds a `sh -c` command", () => {
    const offenders = sources.filter((s) => /["'](\/bin\/)?(ba)?sh["']\s*,\s*\[\s*["']-c["']|shell:\s*true/.test(s.text)).map((s) => s.path);
    expect(offenders).toEqual([]);
  });
});
