import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { isSameLiveProcess, readProcStat } from "../src/proc/stat.js";
import { nexcageMessage, rootEntries, waitFor, type NexcageOptions, type Run } from "./helpers.js";

/**
 * Every cgroup directory named `name` (or `*.name`, a systemd scope) in any hierarchy, at any depth
 * up to 6 (runc puts its default under the caller's own cgroup, not at the root).
 */
export function cgroupsNamed(name: string, dir = "/sys/fs/cgroup", depth = 0): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory())
    .flatMap((e) => {
      const path = join(dir, e.name);
      const here = e.name === name || e.name.endsWith(`.${name}`) ? [path] : [];
      return depth < 6 ? [...here, ...cgroupsNamed(name, path, depth + 1)] : here;
    });
}

/**
 * One crash case of the crash-consistency suites (e2e/crash*.test.ts): nexcage is killed with
 * SIGKILL at a named point (NEXCAGE_TEST_CRASH_AT, src/crash-point.ts) of one operation; then
 * `state` and `list` must agree and say what is true, `kill` must reach a container that a crashed
 * start left running, `delete --force` must succeed, and nothing may be left.
 */
export interface CrashCase {
  /** NEXCAGE_TEST_CRASH_AT */
  readonly at: string;
  /** the container before the crashing call */
  readonly setup: "none" | "created" | "running";
  readonly op: "create" | "start" | "kill" | "delete";
  /** what `state` says after the crash ("absent": container does not exist) */
  readonly after: "absent" | "stopped" | "created" | "running";
}

export interface CrashRun {
  readonly n: (args: string[], extra?: NexcageOptions) => Promise<Run>;
  readonly root: string;
  readonly bundle: string;
  readonly id: string;
  /** Host pid of the container's init right after the crash, if one exists. */
  readonly initPid: () => Promise<number | undefined>;
  /** What the backend left outside the root after delete --force (must be nothing). */
  readonly leftovers: () => Promise<string[]>;
  /** More create flags (e.g. --pid-file: a proxmox-lxc CT attached as containerd's shim makes it). */
  readonly createFlags?: readonly string[];
}

const ok = (r: Run) => expect(r, r.stderr).toMatchObject({ code: 0 });

export async function crashCase(c: CrashCase, t: CrashRun): Promise<void> {
  const { n, id, bundle } = t;
  const create = ["create", ...(t.createFlags ?? []), "-b", bundle, id];
  if (c.setup !== "none") ok(await n(create));
  if (c.setup === "running") ok(await n(["start", id]));
  const argv = { create, start: ["start", id], kill: ["kill", id, "KILL"], delete: ["delete", "--force", id] }[c.op];
  const crashed = await n(argv, { env: { NEXCAGE_TEST_CRASH_AT: c.at } });
  expect(crashed.code, `${c.at} was not reached: ${crashed.stderr}`).toBe(137);
  const initPid = await t.initPid();
  const initStart = initPid !== undefined ? readProcStat(initPid)?.startTime : undefined;

  const stateOf = async () => {
    const r = await n(["state", id]);
    if (r.code === 0) return JSON.parse(r.stdout).status as string;
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    return nexcageMessage(r.stderr) === "container does not exist" ? "absent" : `error: ${r.stderr}`;
  };
  if (c.after === "stopped") await waitFor(async () => (await stateOf()) === "stopped", 20_000);
  expect(await stateOf()).toBe(c.after);

  const list = await n(["list", "--format", "json"]);
  ok(list);
  const entries = (JSON.parse(list.stdout || "[]") as Array<{ id: string; status: string }>).filter((e) => e.id === id);
  expect(entries.map((e) => e.status)).toEqual(c.after === "absent" ? [] : [c.after]);

  if (c.op === "start" && c.after === "running") {
    // a start that crashed before recording the init: signals still reach it
    ok(await n(["kill", id, "KILL"]));
    expect(await waitFor(async () => (await stateOf()) === "stopped", 20_000)).toBe(true);
  }

  ok(await n(["delete", "--force", id]));
  expect(rootEntries(t.root)).toEqual([]);
  if (initPid !== undefined && initStart !== undefined) expect(await waitFor(async () => !isSameLiveProcess(initPid, initStart))).toBe(true);
  expect(await t.leftovers()).toEqual([]);
  expect(nexcageMessage((await n(["state", id])).stderr)).toBe("container does not exist");
}

/** Host-wide traces of a container: cgroups `/<name>` under each controller and mounts naming `dir`. */
export function hostTraces(cgroupName: string, dir: string): string[] {
  const out: string[] = cgroupsNamed(cgroupName).map((d) => `cgroup ${d}`);
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) if (line.includes(dir)) out.push(`mount ${line}`);
  return out;
}
