import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CRASH_POINTS } from "../src/crash-point.js";
import { isSameLiveProcess, readProcStat } from "../src/proc/stat.js";
import { Cleanup, makeBundle, nexcageFor, nexcageMessage, tempDir, VARIANTS, waitFor, type Run } from "./helpers.js";

/**
 * Crash consistency for crun (CLI and libcrun drivers) and runc: nexcage is killed with SIGKILL at
 * each named step of create, start, kill and delete (NEXCAGE_TEST_CRASH_AT, src/crash-point.ts).
 * Afterwards `state` and `list` agree and say what is true, `delete --force` succeeds, and nothing
 * is left: no directory or temp file in the root, no process, no cgroup, no mount.
 */
const cleanup = new Cleanup();
afterAll(() => cleanup.run(), 300_000);

type Setup = "none" | "created" | "running";
type After = "absent" | "stopped" | "created" | "running";

interface Case {
  /** NEXCAGE_TEST_CRASH_AT */
  readonly at: string;
  /** the container before the crashing call */
  readonly setup: Setup;
  readonly op: "create" | "start" | "kill" | "delete";
  /** what `state` says after the crash */
  readonly after: After;
  readonly only?: "libcrun";
}

/** Every runtime, store and libcrun crash point, at the operation that passes it. */
const OCI_CASES: readonly Case[] = [
  { at: "create:dir-made", setup: "none", op: "create", after: "absent" },
  { at: "store:temp-written", setup: "none", op: "create", after: "absent" },
  { at: "create:record-creating", setup: "none", op: "create", after: "stopped" },
  { at: "libcrun:state-root-made", setup: "none", op: "create", after: "stopped", only: "libcrun" },
  { at: "create:backend-created", setup: "none", op: "create", after: "stopped" },
  { at: "store:temp-written#2", setup: "none", op: "create", after: "stopped" },
  { at: "create:record-created", setup: "none", op: "create", after: "created" },
  { at: "start:checked", setup: "created", op: "start", after: "created" },
  { at: "start:backend-started", setup: "created", op: "start", after: "running" },
  { at: "store:temp-written", setup: "created", op: "start", after: "running" },
  { at: "kill:checked", setup: "running", op: "kill", after: "running" },
  { at: "kill:backend-killed", setup: "running", op: "kill", after: "stopped" },
  { at: "delete:checked", setup: "running", op: "delete", after: "running" },
  { at: "delete:backend-deleted", setup: "running", op: "delete", after: "stopped" },
];

const tag = process.pid.toString(36);

/** Host-wide traces of a container: its cgroups (cgroupfs driver, `/<id>`) and mounts naming its directory. */
function hostTraces(id: string, dir: string): string[] {
  const out: string[] = [];
  for (const ctrl of readdirSync("/sys/fs/cgroup")) if (existsSync(join("/sys/fs/cgroup", ctrl, id))) out.push(`cgroup ${ctrl}/${id}`);
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) if (line.includes(dir)) out.push(`mount ${line}`);
  return out;
}

function pidIn(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8"));
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

describe("every crash point of the runtime, the store and the backends has a case", () => {
  it("OCI backends: every point not of proxmox-lxc", () => {
    const covered = new Set(OCI_CASES.map((c) => c.at.replace(/#[0-9]+$/, "")));
    expect(CRASH_POINTS.filter((p) => !p.startsWith("proxmox-lxc:") && !covered.has(p))).toEqual([]);
  });
});

describe.each(VARIANTS)("kill -9 at each step, through $name", (variant) => {
  const driver = variant.node ? "libcrun" : "cli";
  const cases = OCI_CASES.filter((c) => c.only === undefined || c.only === driver);

  it.concurrent.each(cases.map((c, i) => ({ ...c, i })))("$op crashed at $at: state says $after, list agrees, delete --force leaves nothing", async (c) => {
    const root = cleanup.dir(tempDir("crash"));
    const n = nexcageFor(variant, root);
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, `crash-${tag}-${variant.backend}${variant.node ? "l" : ""}-${c.i}`);
    const dir = join(root, id);
    const ok = (r: Run) => expect(r, r.stderr).toMatchObject({ code: 0 });

    if (c.setup !== "none") ok(await n(["create", "-b", bundle, id]));
    if (c.setup === "running") ok(await n(["start", id]));
    const argv = { create: ["create", "-b", bundle, id], start: ["start", id], kill: ["kill", id, "KILL"], delete: ["delete", "--force", id] }[c.op];
    const crashed = await n(argv, { env: { NEXCAGE_TEST_CRASH_AT: c.at } });
    expect(crashed.code, `${c.at} was not reached: ${crashed.stderr}`).toBe(137);
    const initPid = pidIn(join(dir, "init.pid"));
    const initStart = initPid !== undefined ? readProcStat(initPid)?.startTime : undefined;

    // state: the truth, or "does not exist" when no record was written
    const stateOf = async () => {
      const r = await n(["state", id]);
      if (r.code !== 0) {
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        return nexcageMessage(r.stderr) === "container does not exist" ? "absent" : `error: ${r.stderr}`;
      }
      return JSON.parse(r.stdout).status as string;
    };
    if (c.after === "stopped") await waitFor(async () => (await stateOf()) === "stopped");
    const status = await stateOf();
    expect(status).toBe(c.after);

    // list: the same status, or no entry; never an error
    const list = await n(["list", "--format", "json"]);
    ok(list);
    const entries = (JSON.parse(list.stdout || "[]") as Array<{ id: string; status: string }>).filter((e) => e.id === id);
    expect(entries.map((e) => e.status)).toEqual(c.after === "absent" ? [] : [c.after]);

    // delete --force reaches whatever is there, and leaves nothing
    ok(await n(["delete", "--force", id]));
    expect(readdirSync(root)).toEqual([]);
    if (initPid !== undefined && initStart !== undefined) {
      expect(await waitFor(async () => !isSameLiveProcess(initPid, initStart))).toBe(true);
    }
    expect(hostTraces(id, dir)).toEqual([]);
    expect((await n(["state", id])).stderr).toMatch(/container does not exist/);
  });
});
