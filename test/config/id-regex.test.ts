import { execa } from "execa";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { idRegexProblem } from "../../src/config/id-regex.js";

const bun = join(import.meta.dirname, "..", "..", "node_modules", "@oven", "bun-linux-x64-baseline", "bin", "bun");
// an id of 128 characters that almost matches: exponential backtracking for (a+)+$ without a bound
const ID = `${"a".repeat(127)}!`;

const SOURCES = ["(a+)+$", "(a|a)+$", "(a*)*b", "^(\\w+\\s?)*$"];
const script = join(mkdtempSync(join(tmpdir(), "nexcage-idregex-")), "route.mts");
writeFileSync(
  script,
  `import { parseConfig } from ${JSON.stringify(join(import.meta.dirname, "..", "..", "src", "config", "load.ts"))};
import { route } from ${JSON.stringify(join(import.meta.dirname, "..", "..", "src", "runtime", "router.ts"))};
for (const idRegex of ${JSON.stringify(SOURCES)}) console.log(route(${JSON.stringify(ID)}, {}, parseConfig({ routing: [{ backend: "runc", idRegex }] }, "t")).backend);
`,
);
const tsx = join(import.meta.dirname, "..", "..", "node_modules", ".bin", "tsx");

describe("idRegex runs in bounded time", () => {
  // in a child: an unbounded match blocks its thread, so only a kill from outside can end it
  it.each([
    ["node", tsx],
    ["Bun (the shipped binary's runtime)", bun],
  ])("%s: catastrophic rules on a 128-character id that almost matches answer (killed after 60 s otherwise)", async (_, runner) => {
    const r = await execa(runner, [script], { reject: false, timeout: 60_000 });
    expect(r.timedOut, "the routing hung").toBe(false);
    expect(r.stdout.trim().split("\n"), r.stderr).toEqual(SOURCES.map(() => "crun"));
  });

  it.each([
    ["(a)\\1", /backreferences/],
    ["(?<x>a)\\k<x>", /backreferences/],
    ["a(?=b)", /lookarounds/],
    ["(?<!a)b", /lookarounds/],
    ["a(?!b)", /lookarounds/],
  ])("%s is refused in the config", (source, why) => {
    expect(idRegexProblem(source)).toMatch(why);
    expect(() => parseConfig({ routing: [{ backend: "runc", idRegex: source }] }, "t")).toThrowError(/^invalid config t: routing\.0\.idRegex: /);
  });

  it.each(["^web-", "^db-[0-9]+$", "(?:a|b)+", "\\d{3}", "(?<name>x)"])("%s is allowed", (source) => {
    expect(idRegexProblem(source)).toBeUndefined();
  });
});
