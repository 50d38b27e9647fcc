import { describe, expect, it } from "vitest";
import { cgroupNamesId, parseCgroups, parseNsPids, procIdentity, signalTargetProblem, type ProcIdentity } from "../../src/proc/container-process.js";

const HOST_NS = "pid:[4026531836]";
const self: ProcIdentity & { pid: number } = { pid: 500, pidNs: HOST_NS, nsPids: [500], cgroups: ["/user.slice/user-0.slice/session-1.scope"] };
const host = (cgroup: string): ProcIdentity => ({ pidNs: HOST_NS, nsPids: [4242], cgroups: [cgroup] });

describe("signalTargetProblem: only a container's process is signalled, whatever the record says", () => {
  it.each<[string, number, ProcIdentity, string | undefined]>([
    ["a container init in its own pid namespace", 4242, { pidNs: "pid:[4026532001]", nsPids: [4242, 1], cgroups: ["/web-1"] }, undefined],
    ["an init in its own pid namespace, any cgroup", 4242, { pidNs: "pid:[4026532001]", nsPids: [4242, 1], cgroups: ["/elsewhere"] }, undefined],
    ["a container without a pid namespace in cgroup /<id>", 4242, host("/web-1"), undefined],
    ["... in crun's systemd scope", 4242, host("/machine.slice/crun-web-1.scope"), undefined],
    ["... in containerd's cgroup path", 4242, host("/k8s.io/web-1"), undefined],
    ["pid 1", 1, { pidNs: HOST_NS, nsPids: [1], cgroups: ["/init.scope"] }, "process 1 is not a container's"],
    ["pid 0", 0, host("/"), "process 0 is not a container's"],
    ["a negative pid (a process group)", -5, host("/web-1"), "process -5 is not a container's"],
    ["nexcage itself", 500, self, "process 500 is nexcage itself"],
    ["a host process in the user's session", 4242, host("/user.slice/user-1000.slice/session-3.scope"), "process 4242 is neither in a pid namespace nor in a cgroup of container web-1"],
    ["a host process in nexcage's own cgroup, even one named like the id", 4242, { pidNs: HOST_NS, nsPids: [4242], cgroups: self.cgroups }, "process 4242 is neither in a pid namespace nor in a cgroup of container web-1"],
    ["a host service whose cgroup names another id", 4242, host("/system.slice/web-10.service"), "process 4242 is neither in a pid namespace nor in a cgroup of container web-1"],
    ["a process of a nested pid namespace that is not its init", 4242, { pidNs: "pid:[4026532001]", nsPids: [4242, 7], cgroups: ["/user.slice/x"] }, "process 4242 is neither in a pid namespace nor in a cgroup of container web-1"],
  ])("%s", (_, pid, target, problem) => {
    expect(signalTargetProblem(pid, "web-1", target, self)).toBe(problem);
  });
});

describe("/proc parsing", () => {
  it.each([
    ["0::/a/b\n", ["/a/b"]],
    ["12:memory:/x\n11:cpu,cpuacct:/x\n0::/x\n", ["/x", "/x", "/x"]],
    ["1:name=systemd:/a:b\n", ["/a:b"]],
    ["", []],
  ])("parseCgroups(%j)", (text, paths) => {
    expect(parseCgroups(text)).toEqual(paths);
  });

  it.each([
    ["Name:\tsleep\nNSpid:\t4242\t1\nNSpgid:\t4242\t1\n", [4242, 1]],
    ["NSpid:\t77\n", [77]],
    ["Name:\tx\n", []],
  ])("parseNsPids(%j)", (text, pids) => {
    expect(parseNsPids(text)).toEqual(pids);
  });

  it.each([
    ["/web-1", true],
    ["/machine.slice/crun-web-1.scope", true],
    ["/system.slice/web-1.scope", true],
    ["/web-10", false],
    ["/system.slice/web-1.service", false],
    ["/", false],
  ])("cgroupNamesId(%j, web-1) is %s", (path, names) => {
    expect(cgroupNamesId(path, "web-1")).toBe(names);
  });

  it("reads this process's own identity", () => {
    const me = procIdentity("self");
    expect(me.pidNs).toMatch(/^pid:\[\d+\]$/);
    expect(me.nsPids[me.nsPids.length - 1]).toBeGreaterThan(0);
    expect(me.cgroups.length).toBeGreaterThan(0);
    expect(signalTargetProblem(process.pid, "x", me, { ...me, pid: process.pid })).toBe(`process ${process.pid} is nexcage itself`);
  });
});
