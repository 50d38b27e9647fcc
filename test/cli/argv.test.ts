import { describe, expect, it } from "vitest";
import { scanArgv } from "../../src/cli/argv.js";

describe("scanArgv: the command word after the global flags", () => {
  it.each([
    [["state", "x"], { command: "state" }],
    [["--root", "/r", "--log", "/l", "--log-format", "json", "create", "--bundle", "b", "x"], { command: "create" }],
    [["--root=/r", "--debug", "--systemd-cgroup", "kill", "x", "KILL"], { command: "kill" }],
    [["--config", "state", "list"], { command: "list" }],
    [["--root", "--debug", "start", "x"], { command: "start" }],
    [["--version"], { version: true }],
    [["-v", "--root", "/r"], { version: true }],
    [["--version", "--bogus"], { version: true }],
    [["--bogus", "--version"], {}],
    [["--version", "state", "x"], { command: "state", version: true }],
    [["--root", "/r", "-v", "state", "x"], { command: "state", version: true }],
    [[], {}],
    [["--help", "state"], {}],
    [["-h"], {}],
    [["--bogus", "state", "x"], {}],
    [["-vh", "state"], {}],
    [["--rootx=/r", "state"], {}],
    [["--root"], {}],
    [["help", "state"], { command: "help" }],
    [["nosuchcommand"], { command: "nosuchcommand" }],
  ])("%j", (args, expected) => {
    expect(scanArgv(args)).toEqual(expected);
  });
});
