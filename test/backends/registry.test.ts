import { describe, expect, it } from "vitest";
import type { Capability } from "../../src/backends/contract.js";
import { REGISTRY } from "../../src/backends/registry.js";
import { parseConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/log.js";
import { BACKEND_NAMES } from "../../src/names.js";

const CAPABILITIES: Capability[] = ["run", "exec", "ps", "pause", "resume", "update"];

describe("backend registry", () => {
  it("has one descriptor per backend name, under its own name", () => {
    expect(Object.keys(REGISTRY).sort()).toEqual([...BACKEND_NAMES].sort());
    for (const [name, d] of Object.entries(REGISTRY)) expect(d.name).toBe(name);
  });

  it("no two backends claim the same debris file", () => {
    const files = Object.values(REGISTRY).flatMap((d) => d.debris);
    expect(new Set(files).size).toBe(files.length);
  });

  // the descriptor says what a backend can do without loading it: it must say what the loaded one does
  it.each([...BACKEND_NAMES])("%s: the descriptor's capabilities and probe are the loaded backend's", async (name) => {
    const config = parseConfig({ backends: { crun: { driver: "cli" } } }, "test");
    const b = await REGISTRY[name].load({ config, log: silentLogger, systemdCgroup: false, debug: false });
    expect(b.name).toBe(name);
    for (const cap of CAPABILITIES) expect([cap, typeof b[cap] === "function"]).toEqual([cap, REGISTRY[name].can[cap]]);
    // an init that is a host process is probed by the runtime from /proc; every other backend asks its tool
    expect(typeof b.probe === "function").toBe(!REGISTRY[name].initIsHostProcess);
  });
});
