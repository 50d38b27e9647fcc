import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerCriCases } from "./cri-cases.js";
import { CriHarness, DEFAULT_HANDLER, PAUSE_IMAGE, PCT_HANDLER } from "./cri-harness.js";

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
