import { describe, expect, it } from "vitest";
import { deleteIsCgroupAndState, parseCrunStatus } from "../../src/backends/crun-stopped-delete.js";

const PID_NS = { linux: { namespaces: [{ type: "mount" }, { type: "pid" }] } };
const CGROUPFS = { cgroupPath: "/c1", systemd: false };

describe("crun's status file, its cgroup part", () => {
  it.each([
    [{ "cgroup-path": "/c1", "systemd-cgroup": false, scope: "" }, CGROUPFS],
    [{ "cgroup-path": "", "systemd-cgroup": false }, { cgroupPath: "", systemd: false }],
    [{ "cgroup-path": "/x", "systemd-cgroup": true }, { cgroupPath: "/x", systemd: true }],
    [{ "cgroup-path": "/x", scope: "crun-c1.scope" }, { cgroupPath: "/x", systemd: true }],
    [{ "cgroup-path": 5 }, undefined],
    [{ "cgroup-path": "/x", "systemd-cgroup": "no" }, undefined],
    [{}, undefined],
    [[], undefined],
    [null, undefined],
  ])("%j", (doc, expected) => {
    expect(parseCrunStatus(doc)).toEqual(expected);
  });
});

describe("whether crun's delete of a stopped container is only its cgroup and state", () => {
  it.each([
    ["its own pid namespace, no hooks", PID_NS, CGROUPFS, true],
    ["poststart and prestart hooks only", { ...PID_NS, hooks: { poststart: [{ path: "/x" }], prestart: [] } }, CGROUPFS, true],
    ["an empty poststop list", { ...PID_NS, hooks: { poststop: [] } }, CGROUPFS, true],
    ["a poststop hook", { ...PID_NS, hooks: { poststop: [{ path: "/x" }] } }, CGROUPFS, false],
    ["hooks that are not an object", { ...PID_NS, hooks: "x" }, CGROUPFS, false],
    ["the host's pid namespace", { linux: { namespaces: [{ type: "mount" }] } }, CGROUPFS, false],
    ["another container's pid namespace (a path)", { linux: { namespaces: [{ type: "pid", path: "/proc/1/ns/pid" }] } }, CGROUPFS, false],
    ["no namespaces list", { linux: {} }, CGROUPFS, false],
    ["the systemd cgroup driver", PID_NS, { cgroupPath: "/x", systemd: true }, false],
    ["an unreadable status", PID_NS, undefined, false],
    ["an unreadable config", undefined, CGROUPFS, false],
    ["a config that is a list", [], CGROUPFS, false],
  ])("%s", (_what, config, status, expected) => {
    expect(deleteIsCgroupAndState(config, status)).toBe(expected);
  });
});
