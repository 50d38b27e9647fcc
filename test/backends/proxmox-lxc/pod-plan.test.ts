import { describe, expect, it } from "vitest";
import { proxyArgs, sysctlArgs } from "../../../src/backends/proxmox-lxc/attach/mapping.js";
import { planContainer, type PlanInput } from "../../../src/backends/proxmox-lxc/plan.js";
import { isNetSysctl, namespaceJoins, podFacts } from "../../../src/backends/proxmox-lxc/pod.js";
import { parsePlanSpec } from "../../../src/backends/proxmox/plan-spec.js";
import { proxmoxLxcSettingsSchema } from "../../../src/backends/proxmox-lxc/settings.js";

const settings = proxmoxLxcSettingsSchema.parse({});
const NETNS = "/var/run/netns/cni-0b7d";
/** What containerd 1.6's CRI gives a pod's sandbox (pause). */
const sandboxSpec = (over: Record<string, unknown> = {}) => ({
  ociVersion: "1.0.2",
  process: { args: ["/pause"], cwd: "/", user: { uid: 65535, gid: 65535 }, capabilities: { bounding: ["CAP_CHOWN", "CAP_KILL"] } },
  root: { path: "rootfs", readonly: true },
  hostname: "web-7d4",
  annotations: {
    "io.kubernetes.cri.container-type": "sandbox",
    "io.kubernetes.cri.sandbox-id": "0123abcd",
    "io.kubernetes.cri.sandbox-name": "Web_7d4",
    "io.kubernetes.cri.sandbox-namespace": "shop",
  },
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev/shm", type: "bind", source: "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/0123abcd/shm", options: ["rbind", "ro"] },
  ],
  linux: {
    namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network", path: NETNS }],
    sysctl: { "net.ipv4.ip_unprivileged_port_start": "0", "kernel.shm_rmid_forced": "1" },
    cgroupsPath: "/kubepods/besteffort/pod1/0123abcd",
  },
  ...over,
});
const input = (spec: unknown, over: Partial<PlanInput> = {}): PlanInput => ({
  id: "0123abcd",
  bundlePath: "/run/containerd/io.containerd.runtime.v2.task/k8s.io/0123abcd",
  spec,
  settings,
  isDirectory: () => true,
  consoleSocket: false,
  attached: true,
  ...over,
});
const opt = (plan: { createOptions: readonly string[] }, name: string) => {
  const i = plan.createOptions.indexOf(name);
  return i < 0 ? undefined : plan.createOptions[i + 1];
};
const withNamespaces = (namespaces: unknown[]) => ({ ...sandboxSpec(), linux: { namespaces } });

describe("a CRI sandbox as an attached CT", () => {
  const p = planContainer(input(sandboxSpec()));

  it("no net0: the process joins the CNI's network namespace, opened by the proxy", () => {
    expect(opt(p, "--net0")).toBeUndefined();
    expect(p.joins).toEqual([{ type: "network", path: NETNS }]);
  });

  it("privileged (joining namespaces of the host's user namespace), with a note", () => {
    expect(opt(p, "--unprivileged")).toBe("0");
    expect(p.privileged).toBe(true);
    expect(p.notes).toContain("the CT is privileged: its init joins namespaces of the host's user namespace");
  });

  it("the pod's hostname, tags from its namespace and name, a description naming it after the id's line", () => {
    expect(opt(p, "--hostname")).toBe("web-7d4");
    expect(opt(p, "--tags")).toBe("nexcage;k8s;ns-shop;pod-web_7d4");
    expect(opt(p, "--description")).toBe("nexcage OCI container 0123abcd\npod: shop/Web_7d4\nbundle: /run/containerd/io.containerd.runtime.v2.task/k8s.io/0123abcd");
  });

  it("the pod's /dev/shm over LXC's; sysctls set from the host: net ones in the pod's netns, IPC ones in the CT's (no lxc.sysctl: it fails in a privileged CT)", () => {
    expect(p.lxcLines).toContain("lxc.mount.entry: /run/containerd/io.containerd.grpc.v1.cri/sandboxes/0123abcd/shm dev/shm none bind,ro,create=dir 0 0");
    expect(p.lxcLines.some((l) => l.startsWith("lxc.sysctl."))).toBe(false);
    expect(p.nsSysctls).toEqual([
      { ns: "net", key: "net.ipv4.ip_unprivileged_port_start", value: "0" },
      { ns: "ipc", key: "kernel.shm_rmid_forced", value: "1" },
    ]);
  });

  it("an IPC sysctl with the host's IPC (hostIPC) is refused: it would change the host", () => {
    const spec = { ...sandboxSpec(), linux: { namespaces: [{ type: "pid" }, { type: "uts" }, { type: "mount" }, { type: "network", path: NETNS }], sysctl: { "kernel.shmmax": "1" } } };
    expect(() => planContainer(input(spec))).toThrowError(/linux\.sysctl kernel\.shmmax/);
  });

  it("pause's user (65535): not lxc.init.uid (the helper must stay root to join); the helper gives it to its child", () => {
    expect(opt(p, "--entrypoint")).toBe("/dev/.nexcage/init init -u 65535 65535 - /dev/.nexcage/sock /pause");
    expect(p.lxcLines.some((l) => /^lxc\.init\.(uid|gid|groups)/.test(l))).toBe(false);
    const withGroups = planContainer(input(sandboxSpec({ process: { args: ["/pause"], cwd: "/", user: { uid: 1, gid: 2, additionalGids: [3, 4] } } })));
    expect(opt(withGroups, "--entrypoint")).toBe("/dev/.nexcage/init init -u 1 2 3,4 /dev/.nexcage/sock /pause");
    const asRoot = planContainer(input(sandboxSpec({ process: { args: ["/pause"], cwd: "/", user: { uid: 0, gid: 0 } } })));
    expect(opt(asRoot, "--entrypoint")).toBe("/dev/.nexcage/init init /dev/.nexcage/sock /pause");
  });

  it("capabilities: not lxc.cap.keep (it would bound the helper, which needs CAP_SYS_ADMIN for setns), noted", () => {
    expect(p.lxcLines.some((l) => l.startsWith("lxc.cap.keep"))).toBe(false);
    expect(p.notes).toContain("process.capabilities: the CT keeps Proxmox's privileged set (its init joins the pod's namespaces)");
  });

  it("the proxy's argv carries the namespaces; nsenter's sets a sysctl there", () => {
    expect(proxyArgs("/run/nexcage-ct/105-x/sock", undefined, p.joins)).toEqual(["proxy", "-n", `net=${NETNS}`, "/run/nexcage-ct/105-x/sock"]);
    expect(proxyArgs("/s", "/c", [{ type: "ipc", path: "/proc/1/ns/ipc" }, { type: "uts", path: "/proc/1/ns/uts" }])).toEqual(["proxy", "-n", "ipc=/proc/1/ns/ipc", "-n", "uts=/proc/1/ns/uts", "/s", "/c"]);
    expect(sysctlArgs({ ns: "net", key: "net.ipv4.ip_forward", value: "1" }, NETNS)).toEqual([`--net=${NETNS}`, "--", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    expect(sysctlArgs({ ns: "ipc", key: "kernel.shmmax", value: "4096" }, "/proc/7/ns/ipc")).toEqual(["--ipc=/proc/7/ns/ipc", "--", "sysctl", "-q", "-w", "kernel.shmmax=4096"]);
  });

  it("the pod's CT allows every device in its cgroup (the pod's containers are crun's, with their own rules, in cgroups below it): v1 or v2 key", () => {
    expect(p.lxcLines).toContain("lxc.cgroup.devices.allow: a");
    expect(planContainer(input(sandboxSpec(), { unifiedCgroup: true })).lxcLines).toContain("lxc.cgroup2.devices.allow: a");
  });

  it("a pod's CT without a memory limit gets the node's memory (Proxmox's 512 MiB default would cap the whole pod); a limit, or a CT that is no pod, keeps the mapping", () => {
    expect(opt(planContainer(input(sandboxSpec(), { hostMemoryMiB: 24_000 })), "--memory")).toBe("24000");
    const limited = { ...sandboxSpec(), linux: { ...(sandboxSpec() as { linux: object }).linux, resources: { memory: { limit: 256 * 1024 * 1024 } } } };
    expect(opt(planContainer(input(limited, { hostMemoryMiB: 24_000 })), "--memory")).toBe("256");
    const plain = planContainer(input(sandboxSpec({ annotations: {} }), { hostMemoryMiB: 24_000 }));
    expect(plain.createOptions).not.toContain("--memory");
  });

  it("a container that is no sandbox gets no pod tags", () => {
    const q = planContainer(input(sandboxSpec({ annotations: { "io.kubernetes.cri.container-type": "container" } })));
    expect(opt(q, "--tags")).toBe("nexcage");
    expect(opt(q, "--description")).not.toMatch(/pod:/);
  });
});

describe("namespaceJoins", () => {
  const joins = (namespaces: unknown[], attached = true) => namespaceJoins(parsePlanSpec(withNamespaces(namespaces)), attached);
  it.each([
    ["all new: none joined", [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }], []],
    ["hostNetwork (no network, no uts)", [{ type: "pid" }, { type: "ipc" }, { type: "mount" }], [{ type: "network", path: "/proc/self/ns/net", host: true }, { type: "uts", path: "/proc/self/ns/uts", host: true }]],
    ["hostIPC", [{ type: "pid" }, { type: "uts" }, { type: "mount" }, { type: "network", path: NETNS }], [{ type: "network", path: NETNS }, { type: "ipc", path: "/proc/self/ns/ipc", host: true }]],
    ["uts and ipc by path", [{ type: "pid" }, { type: "mount" }, { type: "network" }, { type: "ipc", path: "/proc/9/ns/ipc" }, { type: "uts", path: "/proc/9/ns/uts" }], [{ type: "ipc", path: "/proc/9/ns/ipc" }, { type: "uts", path: "/proc/9/ns/uts" }]],
  ])("%s", (_name, ns, want) => expect(joins(ns)).toEqual(want));

  it("hostPID of a sandbox: nothing joined for pid (its containers are crun's, in the host's); of a CT that is no sandbox: refused", () => {
    const hostPid = [{ type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network", path: NETNS }];
    expect(joins(hostPid)).toEqual([{ type: "network", path: NETNS }]);
    const plain = { ...withNamespaces(hostPid), annotations: { "io.kubernetes.cri.container-type": "container" } };
    expect(() => namespaceJoins(parsePlanSpec(plain), true)).toThrowError(/cannot honour sharing the host's pid namespace/);
    expect(() => joins(hostPid, false)).toThrowError(/joining an existing network namespace|sharing the host's pid namespace/);
  });

  it("no namespaces listed: the CT's own, nothing joined", () => {
    expect(namespaceJoins(parsePlanSpec({ ...sandboxSpec(), linux: {} }), true)).toEqual([]);
  });

  it.each([
    ["a pid namespace by path (shareProcessNamespace)", [{ type: "pid", path: "/proc/9/ns/pid" }, { type: "mount" }, { type: "network" }], true, /joining an existing pid namespace \(\/proc\/9\/ns\/pid\)/],
    ["a mount namespace by path", [{ type: "pid" }, { type: "mount", path: "/proc/9/ns/mnt" }, { type: "network" }], true, /joining an existing mount namespace/],
    ["a relative path", [{ type: "pid" }, { type: "mount" }, { type: "network", path: "netns" }], true, /network path "netns" is not an absolute path/],
    ["a path outside the attached mode", [{ type: "pid" }, { type: "mount" }, { type: "network", path: NETNS }], false, /joining an existing network namespace/],
    ["the host network outside the attached mode", [{ type: "pid" }, { type: "mount" }], false, /sharing the host's network namespace/],
  ])("refused: %s", (_name, ns, attached, re) => expect(() => joins(ns, attached)).toThrowError(re));
});

describe("podFacts, isNetSysctl", () => {
  it.each([
    [{ "io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-name": "a b/c", "io.kubernetes.cri.sandbox-namespace": "kube-system" }, ["k8s", "ns-kube-system", "pod-a-b-c"], "pod: kube-system/a b/c"],
    [{ "io.kubernetes.cri.container-type": "sandbox" }, ["k8s"], undefined],
    [{ "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-name": "x" }, [], undefined],
    [undefined, [], undefined],
  ])("%j", (ann, tags, description) => {
    expect(podFacts(ann)).toEqual({ tags, ...(description !== undefined ? { description } : {}) });
  });

  it.each([
    ["net.ipv4.ip_forward", true],
    ["net.core.somaxconn", true],
    ["kernel.shmmax", false],
    ["net..x", false],
    ["net.ipv4/../x", false],
  ])("%s → %s", (key, net) => expect(isNetSysctl(key)).toBe(net));

  it("a net sysctl with the host's network (hostNetwork) is refused: it would change the host", () => {
    const spec = { ...withNamespaces([{ type: "pid" }, { type: "ipc" }, { type: "mount" }]), linux: { namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "mount" }], sysctl: { "net.ipv4.ip_forward": "1" } } };
    expect(() => planContainer(input(spec))).toThrowError(/linux\.sysctl net\.ipv4\.ip_forward/);
  });
});
