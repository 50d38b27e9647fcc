import { describe, expect, it } from "vitest";
import { memberSpec, podSandboxOf } from "../../src/runtime/pod-member.js";
import { ctCgroup } from "../../src/backends/proxmox-lxc/pod.js";

const placement = { pidFilePid: 4100, pid: 5200, cgroupParent: "/lxc/105", note: { vmid: 105 } };
/** A pod's app container as containerd 1.6's CRI writes it (CONTAINER pid mode). */
const member = (namespaces: unknown[]) => ({
  ociVersion: "1.0.2",
  process: { args: ["httpd"], cwd: "/" },
  root: { path: "rootfs", readonly: false },
  annotations: { "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "sb1" },
  linux: { namespaces, cgroupsPath: "/kubepods/besteffort/pod1/c1", resources: { memory: { limit: 1 } } },
  mounts: [{ destination: "/dev/shm", type: "bind", source: "/run/containerd/sb1/shm" }],
});
const CRI_NS = [{ type: "pid" }, { type: "ipc", path: "/proc/4100/ns/ipc" }, { type: "uts", path: "/proc/4100/ns/uts" }, { type: "mount" }, { type: "network", path: "/proc/4100/ns/net" }];

describe("podSandboxOf", () => {
  it.each([
    [{ "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "sb1" }, "sb1"],
    [{ "io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "sb1" }, undefined],
    [{ "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "" }, undefined],
    [{ "io.kubernetes.cri.container-type": "container" }, undefined],
    [{}, undefined],
  ])("%j → %s", (ann, want) => expect(podSandboxOf(ann)).toBe(want));
});

describe("memberSpec", () => {
  it("the sandbox's pid-file pid (the proxy, a host process) becomes the sandbox process's in every namespace path; cgroup under the CT's; root absolute", () => {
    const s = memberSpec(member(CRI_NS), "/run/containerd/c1/rootfs", "c1", placement) as ReturnType<typeof member>;
    expect(s.linux.namespaces).toEqual([{ type: "pid" }, { type: "ipc", path: "/proc/5200/ns/ipc" }, { type: "uts", path: "/proc/5200/ns/uts" }, { type: "mount" }, { type: "network", path: "/proc/5200/ns/net" }]);
    expect(s.linux.cgroupsPath).toBe("/lxc/105/c1");
    expect(s.root).toEqual({ path: "/run/containerd/c1/rootfs", readonly: false });
    // the rest is the caller's, untouched
    expect(s.linux.resources).toEqual({ memory: { limit: 1 } });
    expect(s.mounts).toEqual(member(CRI_NS).mounts);
    expect(s.annotations).toEqual(member(CRI_NS).annotations);
  });

  it("POD pid mode (shareProcessNamespace): the pid namespace too, i.e. the CT's", () => {
    const s = memberSpec(member([{ type: "pid", path: "/proc/4100/ns/pid" }, { type: "mount" }]), "/r", "c2", placement) as ReturnType<typeof member>;
    expect(s.linux.namespaces).toEqual([{ type: "pid", path: "/proc/5200/ns/pid" }, { type: "mount" }]);
  });

  it("the input is not changed", () => {
    const spec = member(CRI_NS);
    memberSpec(spec, "/r", "c1", placement);
    expect(spec).toEqual(member(CRI_NS));
  });

  it("a namespace of another process is refused: it is not the pod's", () => {
    expect(() => memberSpec(member([{ type: "network", path: "/proc/1/ns/net" }]), "/r", "c1", placement)).toThrowError(/^linux\.namespaces: network path \/proc\/1\/ns\/net is not the pod sandbox's \(pid 4100\)$/);
  });

  it("a path that is no /proc namespace (a bind-mounted netns) is kept", () => {
    const s = memberSpec(member([{ type: "network", path: "/var/run/netns/x" }]), "/r", "c1", placement) as ReturnType<typeof member>;
    expect(s.linux.namespaces).toEqual([{ type: "network", path: "/var/run/netns/x" }]);
  });
});

describe("ctCgroup", () => {
  it.each([
    ["12:pids:/lxc/105/ns\n4:memory:/lxc/105/ns\n0::/lxc/105/ns\n", 105, "/lxc/105"],
    ["0::/lxc/105/ns/init.scope\n", 105, "/lxc/105"],
    ["0::/machine.slice/lxc/105/ns\n", 105, "/machine.slice/lxc/105"],
    ["4:memory:/lxc/1050/ns\n", 105, undefined],
    ["4:memory:/user.slice\n", 105, undefined],
    ["", 105, undefined],
  ])("%j (CT %i) → %s", (text, vmid, want) => expect(ctCgroup(text, vmid)).toBe(want));
});
