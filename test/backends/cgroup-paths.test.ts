import { describe, expect, it } from "vitest";
import { cgroupMounts, containerCgroupDirs, parseProcCgroup } from "../../src/backends/cgroup-paths.js";
import { namesRuntimeRoot } from "../../src/backends/runtime-calls.js";

/** A cgroup v1 hybrid host as Debian 12 mounts it under this test machine (memory in a sub-cgroup of ours). */
const HYBRID = [
  "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
  "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
  "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate",
  "46 31 0:41 / /sys/fs/cgroup/net_cls,net_prio rw,relatime - cgroup cgroup rw,net_cls,net_prio",
  "99 22 0:29 / /mnt/cpu\\040again rw,relatime - cgroup cgroup rw,cpu",
  "50 22 8:1 / /srv rw - ext4 /dev/sda1 rw",
].join("\n");
const SELF = ["7:net_cls,net_prio:/", "4:memory:/job/7", "9:name=systemd:/user.slice", "1:cpu:/", "0::/"].join("\n");

/** cgroup v2 only, mounted from a container whose root is a sub-cgroup of the hierarchy. */
const UNIFIED_NESTED = "30 22 0:26 /lxc/ct1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw";
const SELF_NESTED = "0::/lxc/ct1/init.scope";

describe("cgroupMounts", () => {
  it("finds each hierarchy once with its controllers, decoding the mount point", () => {
    expect(cgroupMounts(HYBRID)).toEqual([
      { mountPoint: "/sys/fs/cgroup/cpu", root: "/", controllers: ["cpu"], version: 1 },
      { mountPoint: "/sys/fs/cgroup/memory", root: "/", controllers: ["memory"], version: 1 },
      { mountPoint: "/sys/fs/cgroup/systemd", root: "/", controllers: ["name=systemd"], version: 1 },
      { mountPoint: "/sys/fs/cgroup/unified", root: "/", controllers: [], version: 2 },
      { mountPoint: "/sys/fs/cgroup/net_cls,net_prio", root: "/", controllers: ["net_cls", "net_prio"], version: 1 },
    ]);
    expect(cgroupMounts("99 22 0:50 / /mnt/a\\040b rw - cgroup2 cgroup2 rw")[0]?.mountPoint).toBe("/mnt/a b");
  });
});

describe("parseProcCgroup", () => {
  it("reads hierarchy lines and skips others", () => {
    expect(parseProcCgroup("4:memory:/job/7\n0::/\nbad\n")).toEqual([
      { controllers: ["memory"], path: "/job/7" },
      { controllers: [], path: "/" },
    ]);
  });
});

describe("containerCgroupDirs", () => {
  const cases: Array<[string, string, string, Parameters<typeof containerCgroupDirs>[2], string[]]> = [
    [
      "crun default: /<id> at every root",
      HYBRID,
      SELF,
      { id: "web", base: "root" },
      ["/sys/fs/cgroup/cpu/web", "/sys/fs/cgroup/memory/web", "/sys/fs/cgroup/systemd/web", "/sys/fs/cgroup/unified/web", "/sys/fs/cgroup/net_cls,net_prio/web"],
    ],
    [
      "runc default: <id> under our own cgroup of each hierarchy",
      HYBRID,
      SELF,
      { id: "web", base: "caller" },
      [
        "/sys/fs/cgroup/cpu/web",
        "/sys/fs/cgroup/memory/job/7/web",
        "/sys/fs/cgroup/systemd/user.slice/web",
        "/sys/fs/cgroup/unified/web",
        "/sys/fs/cgroup/net_cls,net_prio/web",
      ],
    ],
    ["crun: a relative cgroupsPath from the root", UNIFIED_NESTED, SELF_NESTED, { id: "web", cgroupsPath: "lxc/ct1/pods/a", base: "root" }, ["/sys/fs/cgroup/pods/a"]],
    ["runc: a relative cgroupsPath under ours", UNIFIED_NESTED, SELF_NESTED, { id: "web", cgroupsPath: "pods/a", base: "caller" }, ["/sys/fs/cgroup/init.scope/pods/a"]],
    ["an absolute cgroupsPath, mount rooted below the hierarchy", UNIFIED_NESTED, SELF_NESTED, { id: "web", cgroupsPath: "/lxc/ct1/x", base: "caller" }, ["/sys/fs/cgroup/x"]],
    ["a path the mount does not show is left out", UNIFIED_NESTED, SELF_NESTED, { id: "web", cgroupsPath: "/other/x", base: "caller" }, []],
    ["our own cgroup is never named", UNIFIED_NESTED, SELF_NESTED, { id: "web", cgroupsPath: "/lxc/ct1/init.scope", base: "root" }, []],
    ["nor an ancestor of ours", HYBRID, SELF, { id: "web", cgroupsPath: "/job", base: "root" }, [
      "/sys/fs/cgroup/cpu/job",
      "/sys/fs/cgroup/systemd/job",
      "/sys/fs/cgroup/unified/job",
      "/sys/fs/cgroup/net_cls,net_prio/job",
    ]],
    ["nor a hierarchy's root", HYBRID, SELF, { id: "web", cgroupsPath: "/a/..", base: "root" }, []],
    ["an empty cgroupsPath is the default", UNIFIED_NESTED, SELF_NESTED, { id: "web", cgroupsPath: "", base: "caller" }, ["/sys/fs/cgroup/init.scope/web"]],
    ["no cgroup mounts: nothing", "50 22 8:1 / /srv rw - ext4 /dev/sda1 rw", "0::/", { id: "web", base: "root" }, []],
  ];
  it.each(cases)("%s", (_what, mountinfo, self, c, dirs) => {
    expect(containerCgroupDirs(mountinfo, self, c)).toEqual(dirs);
  });
});

describe("namesRuntimeRoot", () => {
  it.each([
    [["crun", "--root", "/r/web/crun", "create", "web"], true],
    [["runc", "--root=/r/web/runc", "delete", "web"], true],
    [["crun", "--root", "/r/web/crun2", "create", "web"], false],
    [["crun", "--log", "/r/web/crun", "create"], false],
    [["crun", "--root"], false],
  ])("%j -> %s", (argv, names) => {
    expect(namesRuntimeRoot(argv, argv[0] === "runc" ? "/r/web/runc" : "/r/web/crun")).toBe(names);
  });
});
