import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { status as grpcStatus } from "@grpc/grpc-js";
import { cgroupDirs } from "./containerd-daemon.js";
import type { RuntimeChoice } from "./containerd-harness.js";
import { registerCriCases, useCriHarness } from "./cri-cases.js";
import { CriError } from "./cri/client.js";
import { BUSYBOX_IMAGE, CriHarness, DEFAULT_HANDLER, PAUSE_IMAGE, PCT_HANDLER } from "./cri-harness.js";
import { RUNTIMES, VARIANTS } from "./helpers.js";

const execFileP = promisify(execFile);

/**
 * Pods through containerd's CRI (Debian's containerd 1.6.20, e2e/cri-harness.ts), driven by the e2e
 * CRI client as a kubelet would. The walk-through (e2e/cri-cases.ts) runs on the default handler
 * with runc itself as the shims' runc (the reference), then with nexcage on each of its local
 * variants; registerCriCases runs it for another handler and pod config.
 */

// the expectations are runc's: the same walk-through runs first with runc itself as the shims' runc
const TARGETS: { name: string; runtime: RuntimeChoice }[] = [
  { name: "runc itself (reference)", runtime: { binary: RUNTIMES.runc } },
  ...VARIANTS.slice(1).map((v) => ({ name: `nexcage, ${v.name}`, runtime: { nexcage: { config: v.config, node: v.node } } })),
];

describe("the CRI harness, nexcage (crun, cli driver) on both handlers", () => {
  const h = useCriHarness();

  it("containerd's CRI answers Version on the private socket", async () => {
    const v = await h().client.version();
    expect({ runtimeName: v.runtimeName, runtimeApiVersion: v.runtimeApiVersion }).toEqual({ runtimeName: "containerd", runtimeApiVersion: "v1" });
    expect(v.runtimeVersion).toMatch(/^1\.6\./);
  });

  it("the sandbox image is there before any pod (so containerd never pulls it), an unknown image is not", async () => {
    expect((await h().client.imageStatus(PAUSE_IMAGE))?.repoTags).toContain(PAUSE_IMAGE);
    expect(await h().client.imageStatus("nexcage.test/absent:e2e")).toBeNull();
  });

  it("a call about an unknown container rejects with the CRI's gRPC status and says which call failed", async () => {
    const err = await h().client.containerStatus("no-such-container").then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CriError);
    expect({ method: (err as CriError).method, code: (err as CriError).code }).toEqual({ method: "ContainerStatus", code: grpcStatus.NOT_FOUND });
    expect((err as CriError).message).toMatch(/^CRI ContainerStatus: NOT_FOUND: .*no-such-container/);
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

  registerCriCases({ name: `default handler, nexcage, ${VARIANTS[0]!.name}`, handler: "", rootHandler: DEFAULT_HANDLER, harness: h });
});

for (const t of TARGETS) {
  describe(t.name, () => {
    const h = useCriHarness({ runc: t.runtime });
    registerCriCases({ name: `default handler, ${t.name}`, handler: "", rootHandler: DEFAULT_HANDLER, harness: h });
  });
}

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
      expect(cgroupDirs(other.cgroupParent.slice(1))).not.toEqual([]);
      await other.stop();
      stopped = true;
      expect(existsSync(other.dir)).toBe(false);
      expect(cgroupDirs(other.cgroupParent.slice(1))).toEqual([]);
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
