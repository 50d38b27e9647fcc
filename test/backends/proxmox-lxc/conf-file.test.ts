import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appendRawLines, withRawLines } from "../../../src/backends/proxmox-lxc/conf-file.js";

const CONF = "#nexcage\narch: amd64\nhostname: web\nmemory: 512\n";

describe("raw lxc lines in /etc/pve/lxc/<vmid>.conf", () => {
  it("appends after the keys", () => {
    expect(withRawLines(CONF, ["lxc.init.cwd: /app", "lxc.init.uid: 1000"])).toBe(`${CONF}lxc.init.cwd: /app\nlxc.init.uid: 1000\n`);
  });

  it("keeps [pve:pending] and snapshot sections after the current config", () => {
    const conf = `${CONF}\n[pve:pending]\nmemory: 1024\n`;
    expect(withRawLines(conf, ["lxc.init.cwd: /app"])).toBe(`${CONF}lxc.init.cwd: /app\n\n[pve:pending]\nmemory: 1024\n`);
  });

  it.each(["lxc.init.cwd: /a\nlxc.hook.pre-start: /evil", "hostname: x", "lxc.init.cwd = /a"])("refuses %j", (line) => {
    expect(() => withRawLines(CONF, [line])).toThrowError(/refusing to write config line/);
  });

  it("writes under the config's flock, atomically", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nexcage-conf-"));
    const conf = join(dir, "105.conf");
    writeFileSync(conf, CONF);
    await appendRawLines(conf, join(dir, "lock", "pve-config-105.lock"), ["lxc.init.cwd: /srv"], 1000);
    expect(readFileSync(conf, "utf8")).toBe(`${CONF}lxc.init.cwd: /srv\n`);
  });
});
