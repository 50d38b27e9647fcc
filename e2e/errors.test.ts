import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { readProcStat } from "../src/proc/stat.js";
import { Cleanup, configFile, makeBundle, nexcage, nexcageFor, nexcageMessage, runcMessage, runtime, tempDir, VARIANTS, waitFor, rootEntries } from "./helpers.js";

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

/**
 * Each case is played against runc itself and against nexcage (crun and runc backends), from the
 * same starting point; nexcage must exit like runc and, where runc's text is the contract
 * (containerd matches on some of it), print the same message.
 */
type Setup = "none" | "created" | "running" | "stopped";
interface Case {
  name: string;
  setup: Setup;
  args: (id: string, bundle: string) => string[];
  /** Expected exit code (runc's, checked against runc too). */
  code: number;
  /** The message nexcage prints; "runc" means exactly runc's. */
  message?: RegExp | "runc";
}

const CASES: Case[] = [
  { name: "state of an unknown id", setup: "none", args: (id) => ["state", id], code: 1, message: "runc" },
  { name: "delete of an unknown id", setup: "none", args: (id) => ["delete", id], code: 1, message: "runc" },
  { name: "delete --force of an unknown id", setup: "none", args: (id) => ["delete", "--force", id], code: 0 },
  { name: "kill of an unknown id", setup: "none", args: (id) => ["kill", id, "KILL"], code: 1, message: "runc" },
  { name: "start of an unknown id", setup: "none", args: (id) => ["start", id], code: 1, message: "runc" },
  { name: "delete of a running container without --force", setup: "running", args: (id) => ["delete", id], code: 1, message: "runc" },
  { name: "delete of a created container without --force", setup: "created", args: (id) => ["delete", id], code: 0 },
  { name: "delete --force of a running container", setup: "running", args: (id) => ["delete", "--force", id], code: 0 },
  { name: "start of a running container", setup: "running", args: (id) => ["start", id], code: 1, message: "runc" },
  { name: "start of a stopped container", setup: "stopped", args: (id) => ["start", id], code: 1, message: "runc" },
  { name: "kill of a stopped container", setup: "stopped", args: (id) => ["kill", id, "KILL"], code: 1, message: "runc" },
  { name: "kill with an unknown signal", setup: "running", args: (id) => ["kill", id, "NOTASIG"], code: 1, message: "runc" },
  { name: "create with an existing id", setup: "created", args: (id, b) => ["create", "--bundle", b, id], code: 1, message: /^container with given ID already exists$/ },
  { name: "create with a missing bundle", setup: "none", args: (id) => ["create", "--bundle", "/nonexistent/bundle", id], code: 1, message: /^bundle \/nonexistent\/bundle: no such file or directory$/ },
  { name: "create with id bad/id", setup: "none", args: (_id, b) => ["create", "--bundle", b, "bad/id"], code: 1, message: /^invalid container ID format/ },
  { name: "create with id 'bad id'", setup: "none", args: (_id, b) => ["create", "--bundle", b, "bad id"], code: 1, message: /^invalid container ID format/ },
  { name: "create with id ..", setup: "none", args: (_id, b) => ["create", "--bundle", b, ".."], code: 1, message: /^invalid container ID format/ },
  { name: "delete -f ..", setup: "none", args: () => ["delete", "-f", ".."], code: 1, message: /^invalid container ID format/ },
  { name: "create without an id", setup: "none", args: (_id, b) => ["create", "--bundle", b], code: 1, message: /^missing required argument 'container-id'$/ },
  { name: "kill with too many arguments", setup: "none", args: (id) => ["kill", id, "KILL", "extra"], code: 1, message: /too many arguments/ },
  { name: "an unknown flag", setup: "none", args: (id) => ["state", "--bogus", id], code: 1, message: /^unknown option '--bogus'$/ },
];

/** Brings a fresh container to the case's starting point through `exec` (runc itself or nexcage). */
async function prepare(exec: (args: string[]) => Promise<{ code: number }>, state: (id: string) => Promise<string>, setup: Setup, id: string, bundle: string) {
  if (setup === "none") return;
  expect((await exec(["create", "--bundle", bundle, id])).code).toBe(0);
  if (setup === "created") return;
  expect((await exec(["start", id])).code).toBe(0);
  if (setup === "running") return;
  expect((await exec(["kill", id, "KILL"])).code).toBe(0);
  expect(await waitFor(async () => (await state(id)) === "stopped")).toBe(true);
}

describe("error cases, compared with runc", () => {
  const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
  const runcRoot = cleanup.dir(tempDir("runc-root"));
  const variants = VARIANTS.map((v) => {
    const root = cleanup.dir(tempDir("err"));
    return { variant: v, root, n: nexcageFor(v, root) };
  });

  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", async (_name, c, i) => {
    const id = `err${i}`;
    const viaRunc = (args: string[]) => runtime("runc", runcRoot, args);
    cleanup.runtime("runc", runcRoot, id);
    await prepare(viaRunc, async (x) => JSON.parse((await viaRunc(["state", x])).stdout).status, c.setup, id, bundle);
    const fromRunc = await viaRunc(c.args(id, bundle));
    expect(fromRunc.code, `runc itself: ${fromRunc.stderr}`).toBe(c.code);

    for (const { variant, root, n } of variants) {
      const backend = variant.name;
      cleanup.nexcage(root, id);
      await prepare(n, async (x) => JSON.parse((await n(["state", x])).stdout).status, c.setup, id, bundle);
      const before = rootEntries(root);
      const got = await n(c.args(id, bundle));
      expect(got.code, `${backend}: ${got.stderr}`).toBe(c.code);
      if (c.code !== 0) {
        expect(got.stderr.trim().split("\n"), "one line on stderr").toHaveLength(1);
        expect(got.stderr.startsWith("nexcage: ")).toBe(true);
        if (c.message === "runc") expect(nexcageMessage(got.stderr)).toBe(runcMessage(fromRunc.stderr));
        else if (c.message) expect(nexcageMessage(got.stderr)).toMatch(c.message);
        // a refused call changes nothing on disk
        expect(rootEntries(root)).toEqual(before);
      }
      await n(["delete", "--force", id]);
    }
    await viaRunc(["delete", "--force", id]);
  });
});

describe("failures leave nothing behind and are logged for containerd", () => {
  const root = cleanup.dir(tempDir("fail"));

  it.each(VARIANTS)("a create that fails in $name (bad entrypoint) rolls back; the error is in the JSON log", async (variant) => {
    const backend = variant.backend;
    const bundle = cleanup.dir(makeBundle(["/nonexistent"]));
    const log = join(cleanup.dir(tempDir("log")), "log.json");
    writeFileSync(log, "");
    const pidFile = join(bundle, "init.pid");
    const id = cleanup.nexcage(root, `bad-${backend}-${variant.node ? "ffi" : "cli"}`);
    const r = await nexcageFor(variant, root)(["create", "--bundle", bundle, "--pid-file", pidFile, id], {
      globals: ["--log", log, "--log-format", "json"],
    });
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toMatch(/^create failed: .*nonexistent/);
    expect(existsSync(join(root, id))).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const last = lines[lines.length - 1];
    expect(last).toMatchObject({ level: "error", msg: nexcageMessage(r.stderr) });
    expect(Number.isNaN(Date.parse(last.time))).toBe(false);
    expect((await nexcage(root, ["state", id])).code).toBe(1);
  });

  it("with --log-format text the log line is runc's text format", async () => {
    const log = join(cleanup.dir(tempDir("log")), "log.txt");
    const r = await nexcage(root, ["state", "nosuch"], { globals: [`--log=${log}`] });
    expect(r.code).toBe(1);
    expect(readFileSync(log, "utf8")).toMatch(/^time="[^"]+" level=error msg="container does not exist"\n$/);
  });

  it("a bad config file stops every command with the key path, before anything is created", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const r = await nexcage(root, ["create", "-b", bundle, "cfg1"], { config: configFile({ defaultBackend: "crun", routes: [] }) });
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toMatch(/^invalid config .*: unknown key routes$/);
    expect(existsSync(join(root, "cfg1"))).toBe(false);
  });

  it("a bundle without process is refused before any backend runs", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"], (s) => delete s["process"]));
    const r = await nexcage(root, ["create", "-b", bundle, "noproc"]);
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toMatch(/process property must not be empty/);
    expect(existsSync(join(root, "noproc"))).toBe(false);
  });
});

describe("pid reuse and crash debris", () => {
  const root = cleanup.dir(tempDir("pid"));

  it("a record whose pid now belongs to another process reads stopped and that process is never signalled", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, "reused");
    expect((await nexcage(root, ["run", "-d", "-b", bundle, id])).code).toBe(0);
    const recPath = join(root, id, "state.json");
    const rec = JSON.parse(readFileSync(recPath, "utf8"));
    // the container's init is gone; an unrelated process holds "its" pid now
    expect((await nexcage(root, ["kill", id, "KILL"])).code).toBe(0);
    expect(await waitFor(async () => JSON.parse((await nexcage(root, ["state", id])).stdout).status === "stopped")).toBe(true);
    const bystander = spawn("/bin/busybox", ["sleep", "1000"], { stdio: "ignore" });
    try {
      const stat = readProcStat(bystander.pid!);
      expect(stat).toBeDefined();
      writeFileSync(recPath, JSON.stringify({ ...rec, pid: bystander.pid, status: "running" }));
      expect(JSON.parse((await nexcage(root, ["state", id])).stdout)).toMatchObject({ status: "stopped", pid: 0 });
      const k = await nexcage(root, ["kill", id, "KILL"]);
      expect(k.code).toBe(1);
      expect(nexcageMessage(k.stderr)).toBe("container not running");
      expect((await nexcage(root, ["delete", id])).code).toBe(0);
      expect(readProcStat(bystander.pid!)?.startTime).toBe(stat!.startTime);
      expect(bystander.exitCode).toBeNull();
    } finally {
      bystander.kill("SIGKILL");
    }
  });

  it("a corrupt record: state says so, delete --force removes it and the backend container", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, "corrupt");
    expect((await nexcage(root, ["run", "-d", "-b", bundle, id])).code).toBe(0);
    const pid = JSON.parse((await nexcage(root, ["state", id])).stdout).pid as number;
    writeFileSync(join(root, id, "state.json"), '{"ociVersion":');
    const s = await nexcage(root, ["state", id]);
    expect(s.code).toBe(1);
    expect(nexcageMessage(s.stderr)).toMatch(/state of container corrupt is corrupt/);
    expect((await nexcage(root, ["delete", id])).code).toBe(1);
    expect((await nexcage(root, ["delete", "--force", id])).code).toBe(0);
    expect(existsSync(join(root, id))).toBe(false);
    expect(await waitFor(async () => readProcStat(pid) === undefined || readProcStat(pid)!.state === "Z")).toBe(true);
  });

  it("a directory left by a crashed create is cleared by the next create of that id", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, "debris");
    // what a crash between mkdir and the first record write leaves: the directory only
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(root, id));
    expect(JSON.parse((await nexcage(root, ["list", "-f", "json"])).stdout)).toEqual([]);
    expect((await nexcage(root, ["create", "-b", bundle, id])).code).toBe(0);
    expect(JSON.parse((await nexcage(root, ["state", id])).stdout).status).toBe("created");
    expect((await nexcage(root, ["delete", "--force", id])).code).toBe(0);
  });
});

describe("concurrency", () => {
  const root = cleanup.dir(tempDir("conc"));

  it("two creates racing on one id: exactly one wins, the other says the id exists", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, "race");
    const results = await Promise.all([1, 2].map(() => nexcage(root, ["create", "-b", bundle, id])));
    expect(results.map((r) => r.code).sort()).toEqual([0, 1]);
    expect(nexcageMessage(results.find((r) => r.code === 1)!.stderr)).toBe("container with given ID already exists");
    expect(JSON.parse((await nexcage(root, ["state", id])).stdout).status).toBe("created");
    expect((await nexcage(root, ["delete", "--force", id])).code).toBe(0);
  });

  it("8 containers created, started and deleted in parallel, none lost", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const ids = Array.from({ length: 8 }, (_, i) => cleanup.nexcage(root, `par${i}`));
    expect((await Promise.all(ids.map((id) => nexcage(root, ["run", "-d", "-b", bundle, id])))).map((r) => r.code)).toEqual(ids.map(() => 0));
    const listed = JSON.parse((await nexcage(root, ["list", "-f", "json"])).stdout) as Array<{ id: string; status: string }>;
    expect(listed.map((s) => [s.id, s.status])).toEqual(ids.map((id) => [id, "running"]));
    expect((await Promise.all(ids.map((id) => nexcage(root, ["delete", "-f", id])))).map((r) => r.code)).toEqual(ids.map(() => 0));
    expect(rootEntries(root)).toEqual([]);
  });
});
