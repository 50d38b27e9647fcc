import { describe, expect, it } from "vitest";
import { configIsFor, hostnameFromId, isDnsName, planContainer, quoteInitArg, type PlanInput } from "../../../src/backends/proxmox-lxc/plan.js";
import { proxmoxLxcSettingsSchema } from "../../../src/backends/proxmox-lxc/settings.js";

const settings = proxmoxLxcSettingsSchema.parse({});
const baseSpec = () => ({
  ociVersion: "1.0.2",
  process: { args: ["sleep", "1000"], env: ["PATH=/bin", "A=b c"], cwd: "/work", user: { uid: 1000, gid: 100, additionalGids: [10, 20] } },
  root: { path: "rootfs" },
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts" },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup" },
  ],
  linux: { namespaces: [{ type: "pid" }, { type: "network" }, { type: "mount" }] },
});
const input = (spec: unknown, over: Partial<PlanInput> = {}): PlanInput => ({
  id: "web_01",
  bundlePath: "/b",
  spec,
  settings,
  isDirectory: (p) => !p.endsWith(".conf"),
  consoleSocket: false,
  ...over,
});
const opt = (plan: { createOptions: readonly string[] }, name: string) => {
  const i = plan.createOptions.indexOf(name);
  return i < 0 ? undefined : plan.createOptions[i + 1];
};

describe("proxmox-lxc plan: what is mapped", () => {
  it("defaults: hostname from the id, net0 on vmbr0 with dhcp, rootfs on the storage, unprivileged, unmanaged, tagged", () => {
    const p = planContainer(input(baseSpec()));
    expect(p.hostname).toBe("web-01");
    expect(opt(p, "--hostname")).toBe("web-01");
    expect(opt(p, "--net0")).toBe("name=eth0,bridge=vmbr0,ip=dhcp");
    expect(opt(p, "--rootfs")).toBe("local-lvm:4");
    expect(opt(p, "--unprivileged")).toBe("1");
    expect(opt(p, "--ostype")).toBe("unmanaged");
    expect(opt(p, "--tags")).toBe("nexcage");
    expect(opt(p, "--description")).toBe("nexcage OCI container web_01\nbundle: /b");
    expect(opt(p, "--entrypoint")).toBe("sleep 1000");
    expect(opt(p, "--memory")).toBeUndefined();
  });

  it("process env, cwd, user and groups become lxc.* lines; pseudo filesystems are not mount points", () => {
    const p = planContainer(input(baseSpec()));
    expect(p.lxcLines).toEqual([
      "lxc.environment.runtime: PATH=/bin",
      "lxc.environment.runtime: A=b c",
      "lxc.init.cwd: /work",
      "lxc.init.uid: 1000",
      "lxc.init.gid: 100",
      "lxc.init.groups: 10,20",
    ]);
    expect(p.createOptions.some((o) => /^--mp/.test(o))).toBe(false);
  });

  it("configured settings reach pct", () => {
    const s = proxmoxLxcSettingsSchema.parse({ storage: "local-zfs", rootfsSizeGiB: 8, bridge: "vmbr1", ip: "10.0.0.5/24", gateway: "10.0.0.1", unprivileged: false, ostype: "alpine", features: "nesting=1,keyctl=1", tags: ["team-a", "prod"] });
    const p = planContainer(input(baseSpec(), { settings: s }));
    expect(opt(p, "--rootfs")).toBe("local-zfs:8");
    expect(opt(p, "--net0")).toBe("name=eth0,bridge=vmbr1,ip=10.0.0.5/24,gw=10.0.0.1");
    expect(opt(p, "--unprivileged")).toBe("0");
    expect(opt(p, "--ostype")).toBe("alpine");
    expect(opt(p, "--features")).toBe("nesting=1,keyctl=1");
    expect(opt(p, "--tags")).toBe("nexcage;team-a;prod");
  });

  it.each([
    [{ memory: { limit: 256 * 1024 * 1024 } }, { "--memory": "256" }],
    [{ memory: { limit: 1000 } }, { "--memory": "16" }],
    [{ memory: { limit: 512 * 1024 * 1024, swap: 768 * 1024 * 1024 } }, { "--memory": "512", "--swap": "256" }],
    [{ memory: { limit: 512 * 1024 * 1024, swap: -1 } }, { "--memory": "512", "--swap": "0" }],
    [{ cpu: { quota: 150000, period: 100000 } }, { "--cpulimit": "1.5" }],
    [{ cpu: { quota: 50000 } }, { "--cpulimit": "0.5" }],
    [{ cpu: { shares: 2048 } }, { "--cpuunits": "2048" }],
    [{ cpu: { cpus: "0-2,5" } }, { "--cores": "4" }],
  ])("linux.resources %j", (resources, expected) => {
    const spec = { ...baseSpec(), linux: { ...baseSpec().linux, resources } };
    const p = planContainer(input(spec));
    for (const [k, v] of Object.entries(expected)) expect(opt(p, k)).toBe(v);
  });

  it("spec.hostname is used when it is a DNS name", () => {
    expect(planContainer(input({ ...baseSpec(), hostname: "app.example" })).hostname).toBe("app.example");
  });

  it("bind mounts: directories become mpN, files lxc.mount.entry; tmpfs becomes lxc.mount.entry", () => {
    const spec = {
      ...baseSpec(),
      mounts: [
        ...baseSpec().mounts,
        { destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro"] },
        { destination: "/cache", type: "none", source: "/srv/cache", options: ["bind"] },
        { destination: "/etc/app.conf", type: "bind", source: "/srv/app.conf", options: ["bind", "ro"] },
        { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=64m"] },
      ],
    };
    const p = planContainer(input(spec));
    expect(opt(p, "--mp0")).toBe("/srv/data,mp=/data,ro=1");
    expect(opt(p, "--mp1")).toBe("/srv/cache,mp=/cache");
    expect(p.lxcLines).toContain("lxc.mount.entry: /srv/app.conf etc/app.conf none bind,ro,create=file 0 0");
    expect(p.lxcLines).toContain("lxc.mount.entry: tmpfs run tmpfs nosuid,size=64m,create=dir 0 0");
  });

  it("rlimits, capabilities, IPC sysctls, a read-only root", () => {
    const spec = {
      ...baseSpec(),
      root: { path: "rootfs", readonly: true },
      process: { ...baseSpec().process, rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }], capabilities: { bounding: ["CAP_KILL", "CAP_NET_BIND_SERVICE"] } },
      linux: { ...baseSpec().linux, sysctl: { "kernel.shmmax": "4096", "fs.mqueue.msg_max": 20 } },
    };
    const p = planContainer(input(spec));
    expect(opt(p, "--rootfs")).toBe("local-lvm:4,ro=1");
    expect(p.lxcLines).toEqual(expect.arrayContaining(["lxc.prlimit.nofile: 1024:4096", "lxc.cap.keep: kill net_bind_service", "lxc.sysctl.kernel.shmmax: 4096", "lxc.sysctl.fs.mqueue.msg_max: 20"]));
  });

  it.each([
    ["SIGQUIT", "lxc.signal.halt: SIGQUIT"],
    ["quit", "lxc.signal.halt: SIGQUIT"],
    ["15", "lxc.signal.halt: SIGTERM"],
    ["SIGRTMIN+3", "lxc.signal.halt: SIGRTMIN+3"],
  ])("an image's stop signal annotation %s becomes %s (as PVE 9.1 maps StopSignal)", (sig, line) => {
    const p = planContainer(input({ ...baseSpec(), annotations: { "org.opencontainers.image.stopSignal": sig } }));
    expect(p.lxcLines).toContain(line);
  });

  it("an OCI archive Proxmox maps itself: no --entrypoint and no process lines, the CT options stay", () => {
    const spec = { ...baseSpec(), annotations: { "org.opencontainers.image.stopSignal": "SIGQUIT" }, process: { ...baseSpec().process, rlimits: [{ type: "RLIMIT_NOFILE", soft: 1, hard: 2 }] } };
    const p = planContainer(input(spec, { imageMappedByProxmox: true }));
    expect(opt(p, "--entrypoint")).toBeUndefined();
    expect(p.lxcLines).toEqual([]);
    expect(opt(p, "--hostname")).toBe("web-01");
    expect(opt(p, "--rootfs")).toBe("local-lvm:4");
    expect(opt(p, "--net0")).toBe("name=eth0,bridge=vmbr0,ip=dhcp");
  });

  it("no stop signal annotation: no lxc.signal.halt; an unknown one is refused", () => {
    expect(planContainer(input(baseSpec())).lxcLines.some((l) => l.startsWith("lxc.signal.halt"))).toBe(false);
    expect(() => planContainer(input({ ...baseSpec(), annotations: { "org.opencontainers.image.stopSignal": "SIGNOPE\nx" } }))).toThrowError(
      /^annotation org\.opencontainers\.image\.stopSignal: unknown signal "SIGNOPE\\nx"$/,
    );
  });

  it("security settings Proxmox replaces are noted, not dropped silently", () => {
    const spec = { ...baseSpec(), process: { ...baseSpec().process, apparmorProfile: "x", noNewPrivileges: true }, linux: { ...baseSpec().linux, seccomp: {}, maskedPaths: ["/proc/kcore"] } };
    expect(planContainer(input(spec)).notes).toEqual([
      "linux.seccomp replaced by Proxmox's container profile",
      "linux.maskedPaths replaced by Proxmox's container profile",
      "process.apparmorProfile replaced by Proxmox's container profile",
      "process.noNewPrivileges replaced by Proxmox's container profile",
    ]);
  });
});

describe("proxmox-lxc plan: what is refused", () => {
  it.each([
    ["a console socket", baseSpec(), { consoleSocket: true }, /cannot honour --console-socket/],
    ["a terminal", { ...baseSpec(), process: { ...baseSpec().process, terminal: true } }, {}, /process\.terminal/],
    ["an existing network namespace", { ...baseSpec(), linux: { namespaces: [{ type: "network", path: "/proc/1/ns/net" }] } }, {}, /joining an existing network namespace \(\/proc\/1\/ns\/net\)/],
    ["the host network", { ...baseSpec(), linux: { namespaces: [{ type: "pid" }] } }, {}, /host's network namespace/],
    ["hooks", { ...baseSpec(), hooks: { prestart: [{ path: "/bin/true" }] } }, {}, /OCI hooks/],
    ["a bad hostname", { ...baseSpec(), hostname: "bad_host" }, {}, /hostname "bad_host" is not a valid DNS name/],
    ["a username", { ...baseSpec(), process: { ...baseSpec().process, user: { uid: 0, gid: 0, username: "root" } } }, {}, /process\.user\.username/],
    ["a non-IPC sysctl", { ...baseSpec(), linux: { ...baseSpec().linux, sysctl: { "net.ipv4.ip_forward": "1" } } }, {}, /linux\.sysctl net\.ipv4\.ip_forward/],
    ["an overlay mount", { ...baseSpec(), mounts: [{ destination: "/x", type: "overlay", source: "overlay" }] }, {}, /a overlay mount at \/x/],
    ["a relative bind source", { ...baseSpec(), mounts: [{ destination: "/x", type: "bind", source: "rel" }] }, {}, /relative source/],
    ["a .. mount target", { ...baseSpec(), mounts: [{ destination: "/../etc", type: "tmpfs", source: "tmpfs" }] }, {}, /mount destination/],
    ["an env with a newline", { ...baseSpec(), process: { ...baseSpec().process, env: ["A=1\nlxc.init.cmd: evil"] } }, {}, /newline/],
    ["an env without = (not quoted: it may be a secret)", { ...baseSpec(), process: { ...baseSpec().process, env: ["PATH=/bin", "PASSWORD hunter2"] } }, {}, /^process\.env\[1\] is not KEY=VALUE$/],
    ["args quoting both ' and \"", { ...baseSpec(), process: { ...baseSpec().process, args: ["sh", "-c", "echo \"it's\""] } }, {}, /cannot quote both/],
    ["a missing process", { ...baseSpec(), process: undefined }, {}, /config\.json: process/],
  ])("%s", (_name, spec, over, re) => {
    expect(() => planContainer(input(spec, over))).toThrowError(re);
  });
});

describe("helpers", () => {
  it.each([
    ["Web_01", "web-01"],
    ["--x--", "x"],
    ["a.b+c", "a-b-c"],
    ["___", "ct"],
    ["x".repeat(80), "x".repeat(63)],
  ])("hostnameFromId(%j) = %j", (id, h) => {
    expect(hostnameFromId(id)).toBe(h);
    expect(isDnsName(h)).toBe(true);
  });

  it.each([
    ["plain", "plain"],
    ["two words", "'two words'"],
    ["it's", `"it's"`],
    ["", "''"],
    ["tab\there", "'tab\there'"],
  ])("quoteInitArg(%j) = %j", (arg, q) => expect(quoteInitArg(arg)).toBe(q));
});

describe("configIsFor (which CT a crashed create may remove)", () => {
  const conf = "#nexcage OCI container web-1\n#bundle%3A /b\narch: amd64\nhostname: web-1\n";
  it.each([
    ["web-1", true],
    ["web", false],
    ["web-10", false],
    ["eb-1", false],
  ])("%s → %s", (id, mine) => expect(configIsFor(conf, id)).toBe(mine));
});
