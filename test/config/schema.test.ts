import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configJsonSchema } from "../../src/config/json-schema.js";
import { loadConfig, parseConfig, SYSTEM_CONFIG_PATH } from "../../src/config/load.js";

const repo = join(import.meta.dirname, "..", "..");

describe("config schema: good files", () => {
  it("built-in defaults: crun, no rules", () => {
    const c = parseConfig({}, "t");
    expect(c.defaultBackend).toBe("crun");
    expect(c.routing).toEqual([]);
    expect(c.backends.crun).toEqual({ path: "/usr/bin/crun", driver: "auto", timeoutSeconds: 60 });
    expect(c.backends.runc.path).toBe("/usr/sbin/runc");
  });

  it('a file holding only {"defaultBackend":"runc"} is valid', () => {
    expect(parseConfig({ defaultBackend: "runc" }, "t").defaultBackend).toBe("runc");
  });

  it("config.example.json is valid and keeps its values", () => {
    const c = parseConfig(JSON.parse(readFileSync(join(repo, "config.example.json"), "utf8")), "example");
    expect(c.routing).toHaveLength(3);
    expect(c.routing[1]?.idRegex).toBe("^(kube-ovn-.*|cilium-.*)$");
  });

  it("docs/config.schema.json is the schema generated from the code (npm run schema)", () => {
    const onDisk = JSON.parse(readFileSync(join(repo, "docs", "config.schema.json"), "utf8"));
    expect(onDisk).toEqual(configJsonSchema());
  });
});

describe("config schema: bad files name the key", () => {
  it.each([
    [{ defaultBackend: "docker" }, /defaultBackend/],
    [{ default_runtime: "crun" }, /unknown key default_runtime/],
    [{ backends: { crun: { pth: "/x" } } }, /unknown key backends\.crun\.pth/],
    [{ backends: { lxc: {} } }, /unknown key backends\.lxc/],
    [{ backends: { crun: { path: "crun" } } }, /backends\.crun\.path: must be an absolute path/],
    [{ backends: { crun: { driver: "ffi" } } }, /backends\.crun\.driver/],
    [{ routing: [{ backend: "runc" }] }, /routing\.0: a routing rule needs at least one of/],
    [{ routing: [{ id: "x", backend: "vm" }] }, /routing\.0\.backend/],
    [{ routing: [{ root: "", backend: "runc" }] }, /routing\.0\.root/],
    [{ routing: [{ idRegex: "(", backend: "runc" }] }, /routing\.0\.idRegex: invalid regular expression/],
    [{ routing: [{ id: "x", backend: "runc", pattern: "y" }] }, /unknown key routing\.0\.pattern/],
    [{ routing: {} }, /routing/],
    [[], /top level/],
    [{ lockTimeoutSeconds: -1 }, /lockTimeoutSeconds/],
    [{ backends: { "proxmox-vm": { template: 9000, image: "/x.img" } } }, /backends\.proxmox-vm: give either template \(a VMID to clone\) or image \(a disk to import\), not both/],
    [{ backends: { "proxmox-vm": { templat: 9000 } } }, /unknown key backends\.proxmox-vm\.templat/],
    [{ backends: { "proxmox-vm": { snippetDir: "snippets" } } }, /backends\.proxmox-vm\.snippetDir: must be an absolute path/],
  ])("%j", (doc, re) => {
    expect(() => parseConfig(doc, "f.json")).toThrowError(re);
  });
});

describe("config lookup", () => {
  const dir = mkdtempSync(join(tmpdir(), "nexcage-config-"));
  const good = join(dir, "good.json");
  writeFileSync(good, '{"defaultBackend":"runc"}');
  const broken = join(dir, "broken.json");
  writeFileSync(broken, "{not json");

  it("--config wins over $NEXCAGE_CONFIG", () => {
    const r = loadConfig(good, { NEXCAGE_CONFIG: broken });
    expect(r.source).toBe(good);
    expect(r.config.defaultBackend).toBe("runc");
  });

  it("$NEXCAGE_CONFIG is used without --config", () => {
    expect(loadConfig(undefined, { NEXCAGE_CONFIG: good }).source).toBe(good);
  });

  it("a named file that is missing is an error", () => {
    expect(() => loadConfig(join(dir, "nope.json"), {})).toThrowError(/cannot read config .*nope\.json: no such file/);
    expect(() => loadConfig(undefined, { NEXCAGE_CONFIG: join(dir, "nope.json") })).toThrowError(/no such file/);
  });

  it("a file that is not JSON is an error naming the file", () => {
    expect(() => loadConfig(broken, {})).toThrowError(/invalid config .*broken\.json: not JSON/);
  });

  it("without flag or env: /etc/nexcage/config.json, else built-in defaults", () => {
    const r = loadConfig(undefined, {});
    expect([SYSTEM_CONFIG_PATH, "built-in defaults"]).toContain(r.source);
  });
});
