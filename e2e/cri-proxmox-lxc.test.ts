import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { registerCriCases, useCriHarness } from "./cri-cases.js";
import { PCT_HANDLER } from "./cri-harness.js";
import { pveSimSuite, simLxcSettings } from "./pve-sim.js";

/**
 * The CRI walk-through (e2e/cri-cases.ts) with the pod on the nexcage-pct handler, routed to
 * proxmox-lxc on the pct stand-in (real LXC) by the docs' rule on --root
 * (docs/backends/proxmox-lxc-pods.md): the sandbox a CT, its containers crun's in the CT's
 * namespaces and cgroup. The default handler stays on crun.
 */
const { sim } = pveSimSuite();

const backendOf = (root: string, id: string) => (JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")) as { nexcage: { backend: string } }).nexcage.backend;

describe("nexcage-pct: pods as Proxmox CTs (pct stand-in)", () => {
  const config = {
    defaultBackend: "crun",
    routing: [{ name: "pods-as-cts", root: "/run/nexcage-pct*", backend: "proxmox-lxc" }],
    backends: { crun: { driver: "cli" }, "proxmox-lxc": simLxcSettings(sim.simRoot, sim.base) },
  };
  const h = useCriHarness({ pct: { nexcage: { config, env: sim.env } } });
  it("RunPodSandbox on nexcage-pct makes a Proxmox CT (tagged with the pod, no net0); StopPodSandbox + RemovePodSandbox destroy it", async () => {
    const pod = await h().client.runPodSandbox(h().pod("ct-check"), PCT_HANDLER);
    const root = h().runtimeRoot(PCT_HANDLER);
    try {
      expect(backendOf(root, pod)).toBe("proxmox-lxc");
      const vmid = sim.vmidOf(root, pod);
      const conf = (await sim.pct(["config", String(vmid)])).stdout;
      expect(conf).toMatch(/^tags: k8s;nexcage;ns-nexcage-e2e;pod-ct-check$/m);
      expect(conf).toMatch(/^hostname: ct-check$/m);
      expect(conf).not.toMatch(/^net0:/m);
      expect((await sim.pct(["status", String(vmid)])).stdout).toBe("status: running");
    } finally {
      await h().client.stopPodSandbox(pod);
      await h().client.removePodSandbox(pod);
    }
    expect(sim.cts()).toEqual([]);
    expect(sim.templates()).toEqual([]);
  });

  registerCriCases({ name: "nexcage-pct (proxmox-lxc)", handler: PCT_HANDLER, rootHandler: PCT_HANDLER, harness: h });
});
