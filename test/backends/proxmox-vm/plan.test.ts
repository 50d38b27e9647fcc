import { describe, expect, it } from "vitest";
import { planVm, snippetFileName, type PlanInput } from "../../../src/backends/proxmox-vm/plan.js";
import { proxmoxVmSettingsSchema } from "../../../src/backends/proxmox-vm/settings.js";
import { yamlString } from "../../../src/backends/proxmox-vm/cloud-init.js";
import { environmentWord, execWord } from "../../../src/backends/proxmox-vm/unit.js";

const settings = (over: Record<string, unknown> = {}) => proxmoxVmSettingsSchema.parse({ template: 9000, ...over });
const baseSpec = () => ({
  ociVersion: "1.0.2",
  process: { args: ["/bin/app", "--port", "8080", "two words"], env: ["PATH=/usr/bin:/bin", "GREETING=hello world"], cwd: "/srv", user: { uid: 1000, gid: 100, additionalGids: [10, 20] } },
  root: { path: "rootfs", readonly: true },
  hostname: "app",
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
  settings: settings(),
  consoleSocket: false,
  snippetFile: "nexcage-web_01-x.yaml",
  ...over,
});
const opt = (argv: readonly string[], name: string) => {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
};
const withSpec = (edit: (s: any) => void) => {
  const s = baseSpec() as any;
  edit(s);
  return s;
};

describe("proxmox-vm plan: qm commands", () => {
  it("template: a full clone named after the id, carrying the description, then qm set with sizing, network, cloud-init and tags", () => {
    const p = planVm(input(baseSpec()));
    const [clone, set, ...rest] = p.commands(123);
    expect(rest).toEqual([]);
    expect(clone).toEqual(["clone", "9000", "123", "--name", "web-01", "--description", "nexcage OCI container web_01\nbundle: /b", "--full", "1", "--storage", "local-lvm"]);
    expect(set).toEqual([
      "set", "123",
      "--memory", "512", "--cores", "1",
      "--net0", "virtio,bridge=vmbr0",
      "--ipconfig0", "ip=dhcp",
      "--cicustom", "user=local:snippets/nexcage-web_01-x.yaml",
      "--tags", "nexcage",
      "--virtio15", "local-lvm:0.001,serial=nexcage-status",
    ]);
    expect(p.name).toBe("web-01");
    expect(p.hostname).toBe("app");
    expect(p.snippetVolume).toBe("local:snippets/nexcage-web_01-x.yaml");
  });

  it("linked clone: no --storage (Proxmox refuses it for linked clones)", () => {
    const [clone] = planVm(input(baseSpec(), { settings: settings({ fullClone: false }) })).commands(123);
    expect(clone).toEqual(["clone", "9000", "123", "--name", "web-01", "--description", "nexcage OCI container web_01\nbundle: /b", "--full", "0"]);
  });

  it("image: one qm create importing the disk, with a cloud-init drive, serial console and boot order", () => {
    const p = planVm(input(baseSpec(), { settings: proxmoxVmSettingsSchema.parse({ image: "local:import/debian-12.qcow2", storage: "fast", bridge: "vmbr1", ip: "10.0.0.5/24", gateway: "10.0.0.1", agent: true, tags: ["web"], netModel: "e1000" }) }));
    const cmds = p.commands(4242);
    expect(cmds).toHaveLength(1);
    const create = cmds[0]!;
    expect(create.slice(0, 2)).toEqual(["create", "4242"]);
    expect(opt(create, "--name")).toBe("web-01");
    expect(opt(create, "--ostype")).toBe("l26");
    expect(opt(create, "--scsi0")).toBe("fast:0,import-from=local:import/debian-12.qcow2");
    expect(opt(create, "--ide2")).toBe("fast:cloudinit");
    expect(opt(create, "--boot")).toBe("order=scsi0");
    expect(opt(create, "--serial0")).toBe("socket");
    expect(opt(create, "--net0")).toBe("e1000,bridge=vmbr1");
    expect(opt(create, "--ipconfig0")).toBe("ip=10.0.0.5/24,gw=10.0.0.1");
    expect(opt(create, "--agent")).toBe("1");
    expect(opt(create, "--tags")).toBe("nexcage;web");
    expect(opt(create, "--cicustom")).toBe("user=local:snippets/nexcage-web_01-x.yaml");
  });

  it.each([
    ["memory limit rounds up to MiB", (s: any) => (s.linux.resources = { memory: { limit: 300 * 1024 * 1024 + 1 } }), "--memory", "301"],
    ["tiny memory limit is raised to Proxmox's minimum", (s: any) => (s.linux.resources = { memory: { limit: 1024 } }), "--memory", "16"],
    ["cpu set counts cores", (s: any) => (s.linux.resources = { cpu: { cpus: "0-2,5" } }), "--cores", "4"],
    ["quota/period becomes cpulimit", (s: any) => (s.linux.resources = { cpu: { quota: 150000, period: 100000 } }), "--cpulimit", "1.5"],
    ["shares become cpuunits", (s: any) => (s.linux.resources = { cpu: { shares: 2048 } }), "--cpuunits", "2048"],
    ["no limits: the configured defaults", (_s: any) => undefined, "--cores", "1"],
  ])("sizing: %s", (_name, edit, flag, value) => {
    const [, set] = planVm(input(withSpec(edit))).commands(100);
    expect(opt(set!, flag)).toBe(value);
  });

  it("swap cannot be sized from outside a VM: said in the notes, not dropped silently", () => {
    const p = planVm(input(withSpec((s) => (s.linux.resources = { memory: { limit: 512 * 1024 * 1024, swap: 1024 * 1024 * 1024 } }))));
    expect(p.notes).toContain("linux.resources.memory.swap not applied: a VM's swap lives inside the guest");
    expect(p.notes[0]).toBe("the bundle's root filesystem is not used: the VM boots a clone of template 9000");
  });
});

describe("proxmox-vm plan: cloud-init user-data", () => {
  it("runs the process as a systemd service with its args, env, cwd, user and groups; when it ends, a root hook records how on the status disk and powers off; a reboot powers off too", () => {
    const ud = planVm(input(baseSpec())).userData;
    expect(ud.startsWith("#cloud-config\n")).toBe(true);
    expect(ud).toContain('hostname: "app"\n');
    expect(ud).toContain('  - path: "/etc/systemd/system/nexcage-app.service"\n');
    expect(ud).toContain('  - ["systemctl", "daemon-reload"]\n  - ["systemctl", "enable", "nexcage-reboot.service"]\n  - ["systemctl", "start", "--no-block", "nexcage-app.service"]\n');
    const files = [...ud.matchAll(/ {2}- path: (".*")\n {4}permissions: (".*")\n {4}content: (".*")\n/g)].map((m) => [JSON.parse(m[1]!), JSON.parse(m[2]!), JSON.parse(m[3]!)] as string[]);
    expect(files.map((f) => f.slice(0, 2))).toEqual([["/etc/systemd/system/nexcage-app.service", "0644"], ["/usr/local/lib/nexcage/stopped", "0755"], ["/etc/systemd/system/nexcage-reboot.service", "0644"]]);
    expect(files[1]![2]).toContain(`printf 'nexcage-exit %s %s\\n' "\${EXIT_CODE:-unknown}" "\${EXIT_STATUS:-}" | dd of=/dev/disk/by-id/virtio-nexcage-status bs=512 conv=sync,fsync status=none\nexec /usr/bin/systemctl --no-block poweroff\n`);
    expect(files[2]![2]).toContain("ConditionPathExists=/var/lib/nexcage-started\n");
    const content = JSON.parse(/\n {4}content: (".*")\n/.exec(ud)![1]!) as string;
    expect(content.split("\n")).toEqual([
      "[Unit]",
      "Description=nexcage OCI container web_01",
      "Wants=network-online.target",
      "After=network-online.target cloud-final.service",
      "",
      "[Service]",
      "Type=exec",
      'ExecStart="/bin/app" "--port" "8080" "two words"',
      "WorkingDirectory=/srv",
      "User=1000",
      "Group=100",
      "SupplementaryGroups=10 20",
      'Environment="PATH=/usr/bin:/bin"',
      'Environment="GREETING=hello world"',
      "StandardOutput=journal+console",
      "StandardError=journal+console",
      "ExecStartPre=+/usr/bin/touch /var/lib/nexcage-started",
      "ExecStopPost=+/usr/local/lib/nexcage/stopped",
      "",
    ]);
  });

  it("rlimits, bounding capabilities, no-new-privileges and tmpfs mounts become service settings; sysctls a sysctl.d file", () => {
    const ud = planVm(
      input(
        withSpec((s) => {
          s.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }];
          s.process.capabilities = { bounding: ["CAP_NET_BIND_SERVICE", "CAP_KILL"] };
          s.process.noNewPrivileges = true;
          s.mounts.push({ destination: "/run/app", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=64m"] });
          s.linux.sysctl = { "net.core.somaxconn": "1024" };
        }),
      ),
    ).userData;
    const content = JSON.parse(/\n {4}content: (".*")\n/.exec(ud)![1]!) as string;
    expect(content).toContain("\nLimitNOFILE=1024:4096\n");
    expect(content).toContain("\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_KILL\n");
    expect(content).toContain("\nNoNewPrivileges=yes\n");
    expect(content).toContain("\nTemporaryFileSystem=/run/app:nosuid,size=64m\n");
    expect(ud).toContain('  - path: "/etc/sysctl.d/90-nexcage.conf"\n    permissions: "0644"\n    content: "net.core.somaxconn = 1024\\n"\n');
    expect(ud).toContain('  - ["sysctl", "--load", "/etc/sysctl.d/90-nexcage.conf"]\n');
  });

  it("a hostile id, argument or env value stays data: YAML strings are JSON-quoted, systemd words escaped", () => {
    const p = planVm(input(withSpec((s) => (s.process.args = ["/bin/sh", "-c", 'echo "$HOME" 100% \\ done'])), { id: "a'b" }));
    const content = JSON.parse(/\n {4}content: (".*")\n/.exec(p.userData)![1]!) as string;
    expect(content).toContain('ExecStart="/bin/sh" "-c" "echo \\"$$HOME\\" 100%% \\\\ done"');
    expect(p.userData).toContain(`# nexcage OCI container "a'b"\n`);
  });

  it.each([
    ["plain", "plain", '"plain"'],
    ["dollar", "$X", '"$$X"'],
    ["percent", "50%", '"50%%"'],
    ["quote and backslash", 'a"b\\c', '"a\\"b\\\\c"'],
  ])("execWord %s", (_n, arg, word) => expect(execWord(arg)).toBe(word));

  it.each([
    ["U+2028 (a YAML line break)", "a\u2028b", '"a\\u2028b"'],
    ["NEL", "\u0085", '"\\u0085"'],
    ["DEL and a C1 control (not allowed raw in YAML)", "\u007f\u0090", '"\\u007f\\u0090"'],
    ["a BOM", "\ufeff", '"\\ufeff"'],
    ["astral and accented text stays as it is", "é😀", '"é😀"'],
  ])("yamlString escapes %s", (_n, v, out) => {
    expect(yamlString(v)).toBe(out);
    expect(JSON.parse(yamlString(v))).toBe(v);
  });

  it("environmentWord keeps $ (no expansion in Environment=) and escapes % and quotes", () => {
    expect(environmentWord('A=$B "x" 5%')).toBe('"A=$B \\"x\\" 5%%"');
  });
});

describe("proxmox-vm plan: what is refused", () => {
  it.each([
    ["no template or image", input(baseSpec(), { settings: proxmoxVmSettingsSchema.parse({}) }), /needs a template \(VMID of a template VM to clone\) or an image/],
    ["a console socket", input(baseSpec(), { consoleSocket: true }), /proxmox-vm cannot honour --console-socket/],
    ["a terminal", input(withSpec((s) => (s.process.terminal = true))), /proxmox-vm cannot honour process\.terminal/],
    ["hooks", input(withSpec((s) => (s.hooks = { prestart: [{ path: "/x" }] }))), /proxmox-vm cannot honour OCI hooks/],
    ["a bind mount", input(withSpec((s) => s.mounts.push({ destination: "/data", type: "bind", source: "/srv", options: ["rbind"] }))), /cannot honour a bind mount at \/data \(host paths do not reach a VM\)/],
    ["an overlay mount", input(withSpec((s) => s.mounts.push({ destination: "/x", type: "overlay", source: "o" }))), /cannot honour a overlay mount at \/x/],
    ["joining a namespace", input(withSpec((s) => s.linux.namespaces.push({ type: "ipc", path: "/proc/1/ns/ipc" }))), /joining an existing ipc namespace/],
    ["host network", input(withSpec((s) => (s.linux.namespaces = [{ type: "pid" }]))), /sharing the host's network namespace/],
    ["a relative program path", input(withSpec((s) => (s.process.args = ["bin/app"]))), /a relative program path/],
    ["a control character in an argument", input(withSpec((s) => (s.process.args = ["/bin/echo", "a\nb"]))), /process\.args with control characters/],
    ["a bad hostname", input(withSpec((s) => (s.hostname = "no_underscores"))), /hostname "no_underscores" is not a valid DNS name/],
    ["half a surrogate pair", input(withSpec((s) => (s.process.env = ["A=\ud800"]))), /process\.env that is not well-formed Unicode/],
    ["an env entry without =", input(withSpec((s) => (s.process.env = ["JUSTKEY"]))), /^process\.env\[0\] is not KEY=VALUE$/],
    ["an unknown rlimit", input(withSpec((s) => (s.process.rlimits = [{ type: "RLIMIT_FOO", soft: 1, hard: 1 }]))), /RLIMIT_FOO/],
    ["no args", input(withSpec((s) => (s.process.args = []))), /config\.json: process\.args/],
    ["memory above qm's maximum (8 TiB)", input(withSpec((s) => (s.linux.resources = { memory: { limit: 8 * 1024 ** 4 + 1 } }))), /^linux\.resources\.memory\.limit 8796093022209 is above the 8388608 MiB a Proxmox VM can have$/],
  ])("%s", (_name, inp, message) => {
    expect(() => planVm(inp)).toThrow(message);
  });
});

describe("proxmox-vm settings", () => {
  it("snippet names are Proxmox volume names, unique per create", () => {
    expect(snippetFileName("a/b c", 36 ** 3)).toBe("nexcage-a_b_c-1000.yaml");
  });

  it.each([
    [{ image: "has space.img" }, /absolute path|volume id/],
    [{ image: "local:x,import-from=/etc" }, /without ','/],
    [{ template: 99 }, /100/],
    [{ ip: "manual" }, /dhcp or IPv4/],
    [{ bridge: "br with space" }, /bridge/],
  ])("%j is refused", (bad, message) => {
    expect(() => proxmoxVmSettingsSchema.parse(bad)).toThrow(message);
  });
});
