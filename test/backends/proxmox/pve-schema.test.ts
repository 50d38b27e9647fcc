import { describe, expect, it } from "vitest";
import { isIpv4, isIpv4Config } from "../../../src/backends/proxmox/pve-schema.js";
import { proxmoxVmSettingsSchema } from "../../../src/backends/proxmox-vm/settings.js";

// Proxmox checks ipconfig0 only in `qm set`, after the clone: these are checked before anything is made
describe("Proxmox IPv4 values", () => {
  it.each<[string, boolean]>([
    ["10.0.0.1", true],
    ["0.0.0.0", true],
    ["255.255.255.255", true],
    ["300.1.1.1", false],
    ["10.0.0.256", false],
    ["10.0.0", false],
    ["10.0.0.1.2", false],
    ["10.0.0.1/24", false],
    ["a.b.c.d", false],
    ["", false],
    [" 10.0.0.1", false],
  ])("ipv4 %j -> %s", (v, ok) => {
    expect(isIpv4(v)).toBe(ok);
  });

  it.each<[string, boolean]>([
    ["dhcp", true],
    ["manual", true],
    ["10.0.0.5/24", true],
    ["10.0.0.5/0", true],
    ["10.0.0.5/32", true],
    ["10.0.0.5/33", false],
    ["10.0.0.500/24", false],
    ["10.0.0.5", false],
    ["10.0.0.5/", false],
    ["DHCP", false],
  ])("ipv4 config %j -> %s", (v, ok) => {
    expect(isIpv4Config(v)).toBe(ok);
  });

  it.each([["gateway", "300.1.1.1"], ["ip", "10.0.0.5/40"], ["ip", "999.0.0.5/24"]])("proxmox-vm settings refuse %s %s", (key, value) => {
    expect(proxmoxVmSettingsSchema.safeParse({ template: 9000, [key]: value }).success).toBe(false);
    expect(proxmoxVmSettingsSchema.safeParse({ template: 9000, [key]: key === "ip" ? "10.0.0.5/24" : "10.0.0.1" }).success).toBe(true);
  });
});
