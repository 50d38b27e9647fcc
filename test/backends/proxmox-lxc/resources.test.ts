import { describe, expect, it } from "vitest";
import { resourceOptions, updateResources } from "../../../src/backends/proxmox-lxc/resources.js";

describe("proxmox-lxc update: runc's update flags and containerd's LinuxResources → pct set", () => {
  const files: Record<string, string> = {
    "-": JSON.stringify({ memory: { limit: 268435456, swap: 536870912 }, cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0-1" }, pids: { limit: 10 } }),
    "/r.json": JSON.stringify({ cpu: { shares: 2048 } }),
    "/bad.json": "{",
  };
  const map = (flags: string[]) => {
    const notes: string[] = [];
    const opts = resourceOptions(updateResources(flags, (src) => files[src]!, notes), notes);
    return { opts, notes };
  };

  it.each<[string, string[], string[]]>([
    ["--resources - (containerd)", ["--resources=-"], ["--memory", "256", "--swap", "256", "--cores", "2", "--cpulimit", "0.5", "--cpuunits", "512"]],
    ["a resources file", ["--resources=/r.json"], ["--cpuunits", "2048"]],
    ["--memory with a unit", ["--memory=512m"], ["--memory", "512"]],
    ["--memory and --memory-swap", ["--memory=1g", "--memory-swap=1536M"], ["--memory", "1024", "--swap", "512"]],
    ["--memory-swap -1 (unlimited)", ["--memory=64m", "--memory-swap=-1"], ["--memory", "64", "--swap", "0"]],
    ["a tiny memory limit: Proxmox's 16 MiB minimum", ["--memory=1k"], ["--memory", "16"]],
    ["--cpu-quota and --cpu-period", ["--cpu-quota=150000", "--cpu-period=100000"], ["--cpulimit", "1.5"]],
    ["--cpu-quota -1 (none): nothing to set", ["--cpu-quota=-1"], []],
    ["--cpu-share and --cpuset-cpus", ["--cpu-share=100", "--cpuset-cpus=0,2-3"], ["--cores", "3", "--cpuunits", "100"]],
  ])("%s", (_what, flags, opts) => {
    expect(map(flags).opts).toEqual(opts);
  });

  it("what a LinuxResources document asks beyond memory and cpu is noted, not dropped silently", () => {
    expect(map(["--resources=-"]).notes).toEqual(["update: pids is not changed (Proxmox has no live option for it)"]);
  });

  it.each([
    [["--pids-limit=10"], "proxmox-lxc cannot honour update --pids-limit"],
    [["--blkio-weight=100"], "proxmox-lxc cannot honour update --blkio-weight"],
    [["--memory-swap=1g"], /swap limit without a memory limit/],
    [["--resources=/bad.json"], /update --resources: not JSON/],
  ])("%o is refused: %s", (flags, message) => {
    expect(() => map(flags)).toThrow(message);
  });
});
