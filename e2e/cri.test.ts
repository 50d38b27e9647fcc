import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerCriCases } from "./cri-cases.js";
import { BUSYBOX_IMAGE, CriHarness, DEFAULT_HANDLER, PAUSE_IMAGE, PCT_HANDLER } from "./cri-harness.js";

const execFileP = promisify(execFile);

/**
 * Pods through containerd's CRI (Debian's containerd 1.6.20, e2e/cri-harness.ts) with nexcage as
 * the runc of both runtime handlers, driven by the e2e CRI client as a kubelet would. Here both
 * handlers run nexcage's crun backend (cli driver); registerCriCases (e2e/cri-cases.ts) runs the
 * same walk-through for another handler and pod config.
 */

let harness: CriHarness | undefined;
const h = () => {
  if (!harness) throw new Error("the CRI harness did not start");
  return harness;
};

beforeAll(async () => {
  harness = await CriHarness.start();
}, 120_000);
afterAll(() => harness?.stop(), 120_000);

describe("the CRI harness", () => {
  it("containerd's CRI answers Version on the private socket", async () => {
    const v = await h().client.version();
    expect({ runtimeName: v.runtimeName, runtimeApiVersion: v.runtimeApiVersion }).toEqual({ runtimeName: "containerd", runtimeApiVersion: "v1" });
    expect(v.runtimeVersion).toMatch(/^1\.6\./);
  });

  it("the sandbox image is there before any pod (so containerd never pulls it), an unknown image is not", async () => {
    expect((await h().client.imageStatus(PAUSE_IMAGE))?.repoTags).toContain(PAUSE_IMAGE);
    expect(await h().client.imageStatus("nexcage.test/absent:e2e")).toBeNull();
  });

  it("the nexcage-pct handler runs a pod's sandbox with its own runtime root", async () => {
    const config = h().pod("pct-root");
    const pod = await h().client.runPodSandbox(config, PCT_HANDLER);
    try {
      expect((await h().client.podSandboxStatus(pod)).status.runtimeHandler).toBe(PCT_HANDLER);
      expect(h().records(PCT_HANDLER)).toEqual([pod]);
      expect(h().records(DEFAULT_HANDLER)).not.toContain(pod);
    } finally {
      await h().client.stopPodSandbox(pod);
      await h().client.removePodSandbox(pod);
    }
    expect(h().records(PCT_HANDLER)).toEqual([]);
  });
});

registerCriCases({ name: "default handler (nexcage, crun backend)", handler: "", rootHandler: DEFAULT_HANDLER, harness: h });

describe("the CRI harness's stop()", () => {
  it("removes a pod left running (sandbox and container processes, shims, netns, bridge, cgroups, dirs)", async () => {
    const other = await CriHarness.start();
    let stopped = false;
    try {
      const config = other.pod("left");
      const pod = await other.client.runPodSandbox(config);
      const c = await other.client.createContainer(pod, { metadata: { name: "sleeper" }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "3600"] }, config);
      await other.client.startContainer(c);
      expect((await other.client.containerStatus(c)).state).toBe("CONTAINER_RUNNING");
      const cgroups = readdirSync("/sys/fs/cgroup/memory").filter((d) => d === other.cgroupParent.slice(1));
      expect(cgroups).toHaveLength(1);
      await other.stop();
      stopped = true;
      expect(existsSync(other.dir)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/memory${other.cgroupParent}`)).toBe(false);
      expect(existsSync(other.roots[PCT_HANDLER]!)).toBe(false);
      const link = await execFileP("ip", ["link", "show", other.bridge]).then(() => "present", () => "absent");
      expect(link).toBe("absent");
      const shims = (await execFileP("ps", ["-eo", "args"])).stdout.split("\n").filter((l) => l.includes(other.socket));
      expect(shims).toEqual([]);
    } finally {
      if (!stopped) await other.stop();
    }
  }, 90_000);
});
