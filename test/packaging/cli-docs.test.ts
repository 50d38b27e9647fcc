import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { bashCompletion, valueCompletion } from "../../packaging/cli-docs/completion.js";
import { manPage, roff } from "../../packaging/cli-docs/man.js";
import { cliDoc } from "../../packaging/cli-docs/tree.js";
import { buildProgram } from "../../src/cli/program.js";
import { DEFAULT_ROOT } from "../../src/cli/context.js";
import { SYSTEM_CONFIG_PATH } from "../../src/config/load.js";
import { SYSTEM_LIB_DIR } from "../../src/install/layout.js";
import { existsSync, readdirSync, readFileSync } from "node:fs";

const program = (await buildProgram()).program;
const doc = cliDoc(program);
const page = manPage(doc, { version: "9.9.9", date: "2026-01-02" });
/** What --help prints, for the program and every command, as commander renders it. */
const helpText = [program.helpInformation(), ...program.commands.map((c: Command) => c.helpInformation())].join("\n");
const unroff = (s: string) => s.replace(/\\-/g, "-").replace(/\\e/g, "\\").replace(/\\&/g, "");

describe("roff escaping", () => {
  it.each([
    ["--root <dir>", "\\-\\-root <dir>"],
    [".hidden", "\\&.hidden"],
    ["'quoted", "\\&'quoted"],
    ["a\\b", "a\\eb"],
    ["plain", "plain"],
  ])("%j -> %j", (input, expected) => expect(roff(input)).toBe(expected));
});

describe("nexcage(1) from the commander tree", () => {
  it("documents every command and every option --help shows", () => {
    const text = unroff(page);
    for (const c of program.commands) {
      expect(text).toContain(`.SS ${[c.name(), ...c.aliases()].join(", ")}`);
      for (const o of c.options) if (o.long) expect(text, `${c.name()} ${o.long}`).toContain(o.long);
    }
    for (const o of program.options) expect(text).toContain(o.flags);
  });

  it("advertises no command and no flag that --help does not have", () => {
    const text = unroff(page);
    const flags = new Set(text.match(/(?<![\w-])--?[a-z][a-z0-9-]*/g));
    // the synopsis and prose are free text: the flags in them must exist all the same
    for (const f of flags) expect(helpText, `man page flag ${f}`).toMatch(new RegExp(`(^|[\\s,])${f.replace(/-/g, "\\-")}([\\s,=<)]|$)`, "m"));
    const commands = [...text.matchAll(/^\.SS (.+)$/gm)].flatMap((m) => m[1]!.split(", "));
    const known = program.commands.flatMap((c: Command) => [c.name(), ...c.aliases()]);
    expect(commands.sort()).toEqual([...known].sort());
  });

  it("names only files, units and environment variables nexcage really has", () => {
    const section = page.slice(page.indexOf(".SH FILES"), page.indexOf(".SH", page.indexOf(".SH FILES") + 1));
    const files = [...section.matchAll(/^\.I (\S+)$/gm)].map((m) => unroff(m[1]!));
    expect(files.sort()).toEqual([DEFAULT_ROOT, SYSTEM_CONFIG_PATH, SYSTEM_LIB_DIR].sort());
    for (const unit of unroff(page).match(/[\w-]+\.mount/g) ?? []) expect(existsSync(join("packaging", "deb", unit)), unit).toBe(true);
    const src = readdirSync("src", { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith(".ts"))
      .map((d) => readFileSync(join(d.parentPath, d.name), "utf8"))
      .join("\n");
    const vars = [...page.matchAll(/^\.B (NEXCAGE_\w+)$/gm)].map((m) => m[1]!);
    expect(vars.length).toBeGreaterThan(0);
    for (const v of vars) expect(src, v).toContain(`"${v}"`);
  });

  it("is valid roff: man renders it without warnings", () => {
    const dir = mkdtempSync(join(tmpdir(), "nexcage-man-"));
    try {
      writeFileSync(join(dir, "nexcage.1"), page);
      const r = spawnSync("man", ["--warnings", "-l", "-P", "cat", join(dir, "nexcage.1")], { encoding: "utf8", env: { ...process.env, MANWIDTH: "80" } });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^NAME\n\s+nexcage - OCI runtime/m);
      expect(r.stdout).toContain("nexcage 9.9.9");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bash completion from the commander tree", () => {
  const dir = mkdtempSync(join(tmpdir(), "nexcage-compl-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "nexcage");
  writeFileSync(file, bashCompletion(doc));
  // a stand-in `nexcage` on PATH answers `list -q` (and records its arguments) for id completion
  const fake = join(dir, "bin");
  spawnSync("mkdir", [fake]);
  writeFileSync(join(fake, "nexcage"), `#!/bin/sh\necho "$@" > ${dir}/args\nprintf 'web-1\\nweb-2\\ndb-1\\n'\n`, { mode: 0o755 });
  const complete = (words: string[]) => {
    const script = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _nexcage; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync("bash", ["--norc", "--noprofile", "-c", script], { encoding: "utf8", env: { PATH: `${fake}:/usr/bin:/bin` } });
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter(Boolean);
  };

  it("is valid bash", () => {
    expect(spawnSync("bash", ["-n", file]).status).toBe(0);
  });

  it.each([
    [["nexcage", ""], doc.commands.flatMap((c) => [c.name, ...c.aliases])],
    [["nexcage", "st"], ["start", "state", "stop"]],
    [["nexcage", "--"], doc.options.map((o) => o.long!)],
    [["nexcage", "--log-format", ""], ["text", "json"]],
    [["nexcage", "--root", "/tmp", "--debug", "cr"], ["create"]],
    [["nexcage", "--log", "x.log", "kill", "-"], ["-a", "--all", "-s", "--signal", "-h", "--help"]],
    [["nexcage", "list", "--format", "j"], ["json"]],
    [["nexcage", "help", "de"], ["delete"]],
  ])("%j", (words, expected) => {
    expect(complete(words)).toEqual(expected);
  });

  it("completes container ids with `nexcage list -q`, passing the same --root", () => {
    expect(complete(["nexcage", "--root", "/srv/r", "kill", "web"])).toEqual(["web-1", "web-2"]);
    expect(spawnSync("cat", [join(dir, "args")], { encoding: "utf8" }).stdout.trim()).toBe("--root /srv/r list -q");
  });

  it.each([
    [{ flags: "--format <format>", choices: ["a", "b"], takesValue: true, description: "" }, "compgen -W 'a b'"],
    [{ flags: "--root <dir>", takesValue: true, description: "" }, "compgen -d"],
    [{ flags: "--pid-file <path>", takesValue: true, description: "" }, "compgen -f"],
    [{ flags: "--preserve-fds <n>", takesValue: true, description: "" }, "COMPREPLY=()"],
  ])("option value of %j", (o, expected) => {
    expect(valueCompletion(o)).toContain(expected);
  });
});
