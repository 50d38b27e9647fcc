import { chmodSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configFile, makeBundle, nexcage, tempDir } from "./helpers.js";
import { pveSimSuite } from "./pve-sim.js";

/**
 * Credentials in a container's environment, in exec arguments, in bundle and config files never
 * appear in what nexcage writes: stderr, --debug output, the --log file (JSON and text), error lines.
 * Where such a value would have been logged, its name is there with `***`.
 */
const { cleanup, sim } = pveSimSuite();

const SECRET = `hunter2-${process.pid.toString(36)}-s3cr3t`;

describe("secrets never reach logs or error messages", () => {
  it.each(["json", "text"])("crun: env and exec --env secrets under --debug and --log (%s)", async (format) => {
    const root = cleanup.dir(tempDir("sec-root"));
    const log = join(tempDir("sec-log"), "nexcage.log");
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"], (s) => s["process"].env.push(`DB_PASSWORD=${SECRET}`)));
    const id = cleanup.nexcage(root, `sec-${format}-${process.pid.toString(36)}`);
    const g = { globals: ["--debug", "--log", log, "--log-format", format] };
    const seen: string[] = [];
    const call = async (args: string[]) => {
      const r = await nexcage(root, args, g);
      seen.push(r.stdout, r.stderr);
      return r;
    };
    expect((await call(["run", "-d", "-b", bundle, id])).code).toBe(0);
    const e = await call(["exec", "--env", `API_TOKEN=${SECRET}`, "-e", `PGPASSWORD=${SECRET}`, id, "/bin/true"]);
    expect(e.code, e.stderr).toBe(0);
    // failing calls whose input holds the secret
    const badJson = cleanup.dir(makeBundle(["true"]));
    writeFileSync(join(badJson, "config.json"), `{"process": {"env": ["X=1" "TOKEN=${SECRET}"]}}`);
    expect((await call(["create", "-b", badJson, `${id}-2`])).code).toBe(1);
    const bareJson = cleanup.dir(makeBundle(["true"]));
    writeFileSync(join(bareJson, "config.json"), `{"ociVersion": ${SECRET}}`);
    expect((await call(["create", "-b", bareJson, `${id}-3`])).code).toBe(1);
    const badConfig = configFile({});
    writeFileSync(badConfig, `{"defaultBackend": "crun", "registryPassword": ${SECRET}}`);
    // health reads the config (state and list of crun/runc containers do not need it)
    const bad = await nexcage(root, ["--config", badConfig, ...g.globals, "health"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/invalid config/);
    expect(bad.stderr).not.toContain(SECRET);
    const unknownKey = configFile({ defaultBackend: "crun", backends: { crun: { apiToken: SECRET } } });
    const u = await nexcage(root, ["--config", unknownKey, ...g.globals, "health"]);
    expect(u.stderr).toMatch(/unknown key backends\.crun\.apiToken/);
    seen.push(u.stderr);
    expect((await call(["delete", "--force", id])).code).toBe(0);

    const logged = readFileSync(log, "utf8");
    expect(logged).toMatch(/API_TOKEN=\*\*\*/); // the exec argv was logged, masked
    expect(logged).toMatch(/PGPASSWORD=\*\*\*/);
    expect(logged).not.toContain(SECRET);
    for (const text of seen) expect(text).not.toContain(SECRET);
  });

  // issue 16: JSON.parse's own messages quoted the first token (Bun) or an excerpt (node)
  it("JSON errors name the file and a position, never content; MYSQL_PWD, GITHUB_PAT and token shapes are masked under --debug", async () => {
    const token = `ghp_${SECRET.replace(/[^A-Za-z0-9]/g, "")}ABCDEFGHIJ`;
    const root = cleanup.dir(tempDir("sec-json"));
    const log = join(tempDir("sec-json-log"), "nexcage.log");
    const g = ["--debug", "--log", log];
    const seen: string[] = [];
    const bare = cleanup.dir(makeBundle(["true"]));
    writeFileSync(join(bare, "config.json"), `{\n  "ociVersion": ${token}\n}`);
    const b = await nexcage(root, [...g, "create", "-b", bare, "sec-json-1"]);
    expect(b.stderr).toMatch(/config\.json is not valid JSON: syntax error at line 2, column 17\n$/);
    const cfg = configFile({});
    writeFileSync(cfg, token);
    const c = await nexcage(root, ["--config", cfg, ...g, "health"]);
    expect(c.stderr).toBe(`nexcage: invalid config ${cfg}: not JSON: syntax error at line 1, column 1\n`);
    const shadow = cleanup.dir(makeBundle(["true"]));
    rmSync(join(shadow, "config.json"));
    symlinkSync("/etc/shadow", join(shadow, "config.json"));
    const sh = await nexcage(root, [...g, "create", "-b", shadow, "sec-json-2"]);
    expect(sh.stderr).toMatch(/config\.json is not valid JSON: syntax error at line 1, column 1\n$/);
    expect(sh.stderr).not.toMatch(/root|daemon|\$y\$|\$6\$/);
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"], (sp) => sp["process"].env.push(`MYSQL_PWD=${SECRET}`)));
    const id = cleanup.nexcage(root, `sec-json-${process.pid.toString(36)}`);
    expect((await nexcage(root, [...g, "run", "-d", "-b", bundle, id])).code).toBe(0);
    const e = await nexcage(root, [...g, "exec", "--env", `GITHUB_PAT=${SECRET}`, "--env", `NOTE=${token}`, id, "/bin/true"]);
    expect(e.code, e.stderr).toBe(0);
    expect((await nexcage(root, ["delete", "--force", id])).code).toBe(0);
    seen.push(b.stderr, c.stderr, sh.stderr, e.stderr, e.stdout);
    const logged = readFileSync(log, "utf8");
    expect(logged).toMatch(/GITHUB_PAT=\*\*\*/);
    expect(logged).toMatch(/NOTE=\*\*\*/);
    for (const text of [...seen, logged]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(token);
    }
  });

  it("proxmox-lxc: env secrets in the CT's lxc lines and a failing create stay out of --debug output", async () => {
    const root = cleanup.dir(tempDir("sec-pve"));
    const log = join(tempDir("sec-log"), "nexcage.log");
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"], (s) => s["process"].env.push(`DB_PASSWORD=${SECRET}`, `PASSWORD ${SECRET}`)));
    chmodSync(bundle, 0o755);
    const n = (args: string[]) => nexcage(root, ["--debug", "--log", log, ...args], { config: sim.config, env: sim.env });
    const id = cleanup.nexcage(root, "sec-pve");
    // an env entry that is not KEY=VALUE is refused without quoting it
    const bad = await n(["create", "-b", bundle, id]);
    expect(bad.stderr).toMatch(/process\.env\[\d+\] is not KEY=VALUE/);
    const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    cfg.process.env = cfg.process.env.filter((e: string) => e.includes("="));
    writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg));
    const r = await n(["run", "-d", "-b", bundle, id]);
    expect(r.code, r.stderr).toBe(0);
    const vmid = sim.vmidOf(root, id);
    // the CT got the value (it is the container's own)
    expect(readFileSync(join(sim.confDir, `${vmid}.conf`), "utf8")).toContain(`DB_PASSWORD=${SECRET}`);
    expect((await n(["delete", "--force", id])).code).toBe(0);
    for (const text of [bad.stderr, r.stderr, existsSync(log) ? readFileSync(log, "utf8") : ""]) expect(text).not.toContain(SECRET);
    expect(readFileSync(log, "utf8")).toMatch(/pct/); // --debug did log the pct calls
  });
});
