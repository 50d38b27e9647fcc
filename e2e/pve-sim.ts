import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../src/exec/run.js";
import { afterAll, beforeAll, expect } from "vitest";
import { parseStatus } from "../src/backends/proxmox/pve-output.js";
import { crashCase, type CrashCase } from "./crash-harness.js";
import { Cleanup, configFile, nexcage, REPO, tempDir } from "./helpers.js";

/** The pct/pvesh/qm stand-in's executables (test/sim). */
export const SIM = join(REPO, "test", "sim", "bin");

/** backends."proxmox-lxc" settings for the stand-in rooted at `simRoot`, with a block of 100 VMIDs from `vmidBase`. */
export function simLxcSettings(simRoot: string, vmidBase: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pct: join(SIM, "pct"),
    pvesh: join(SIM, "pvesh"),
    storage: "ctstore",
    rootfsSizeGiB: 1,
    templateDir: join(simRoot, "var/lib/vz/template/cache"),
    confDir: join(simRoot, "etc/pve/lxc"),
    lockDir: join(simRoot, "run/lock/lxc"),
    vmidRange: { min: vmidBase, max: vmidBase + 99 },
    // attached CTs (containerd): their directories under the simulated node's /run
    runDir: join(simRoot, "run/nexcage-ct"),
    ...over,
  };
}

/** Runs one of the stand-in's tools (pct, qm, pvesh) on the simulated host rooted at `simRoot`. */
function simTool(tool: string, simRoot: string) {
  return (args: string[]) => run(join(SIM, tool), args, { env: { ...process.env, PVE_SIM_ROOT: simRoot }, timeoutMs: 120_000 });
}

/** The guest configs `<vmid>.conf` in `confDir`, as VMIDs. */
function confVmids(confDir: string): number[] {
  return readdirSync(confDir).map((f) => /^(\d+)\.conf$/.exec(f)?.[1]).filter((v) => v !== undefined).map(Number);
}

/** The VMID a container's record names. */
function recordVmid(root: string, id: string): number {
  return JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")).nexcage.ref.vmid as number;
}

/**
 * A private Proxmox stand-in (test/sim: pct and pvesh on real LXC) for one e2e file: its own
 * simulated host root and a block of 100 VMIDs of its own (VMIDs name host-wide cgroups and veths).
 */
export function pveSim(cleanup: Cleanup) {
  const simRoot = cleanup.dir(tempDir("pve"));
  chmodSync(simRoot, 0o755); // unprivileged CTs need every directory above their rootfs searchable
  const env = { PVE_SIM_ROOT: simRoot };
  const base = 830_000_000 + (process.pid % 10_000) * 100;
  const confDir = join(simRoot, "etc/pve/lxc");
  const templateDir = join(simRoot, "var/lib/vz/template/cache");
  const settings = (over: Record<string, unknown> = {}) => ({
    defaultBackend: "proxmox-lxc",
    backends: { "proxmox-lxc": simLxcSettings(simRoot, base, over) },
  });
  const pct = simTool("pct", simRoot);
  return {
    simRoot,
    env,
    base,
    confDir,
    templateDir,
    settings,
    config: configFile(settings()),
    pct,
    vmidOf: recordVmid,
    templates: () => readdirSync(templateDir),
    /** CT configs present, as VMIDs. */
    cts: () => confVmids(confDir),
    /** The stand-in lays out storage.cfg and the storages' directories on its first call, as a Proxmox node has them. */
    init: async () => (await pct(["list"])).exitCode,
    /** Whatever a failed test left: every CT in this file's block, by VMID. */
    destroyAll: async () => {
      for (let v = base; v <= base + 99; v++) {
        if (existsSync(join(confDir, `${v}.conf`))) await pct(["destroy", String(v), "--force", "--purge"]);
      }
    },
  };
}

/**
 * An e2e file's Cleanup and stand-in, with the hooks every such file needs: the stand-in laid out
 * before the tests, and after them the file's containers deleted and any CT left in its block destroyed.
 */
export function pveSimSuite() {
  const cleanup = new Cleanup();
  const sim = pveSim(cleanup);
  beforeAll(async () => {
    expect(await sim.init()).toBe(0);
  });
  afterAll(async () => {
    await cleanup.run();
    await sim.destroyAll();
  }, 600_000);
  return { cleanup, sim };
}

/**
 * A private qm/pvesh stand-in (test/sim: every running VM is a real `kvm`-named host process) for
 * one e2e file: its own simulated host root, a block of 100 VMIDs, and a template VM (the block's
 * last VMID) that creates clone.
 */
export function pveVmSim(cleanup: Cleanup, blocks = 850_000_000) {
  const simRoot = cleanup.dir(tempDir("pve-vm"));
  const env = { PVE_SIM_ROOT: simRoot };
  const base = blocks + (process.pid % 10_000) * 100;
  const template = base + 99;
  const confDir = join(simRoot, "etc/pve/qemu-server");
  const snippetDir = join(simRoot, "var/lib/vz/snippets");
  /** A config: `over` on backends."proxmox-vm", `top` on the whole file. */
  const settings = (over: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
    defaultBackend: "proxmox-vm",
    backends: {
      crun: { driver: "cli" },
      "proxmox-vm": {
        qm: join(SIM, "qm"),
        pvesh: join(SIM, "pvesh"),
        pvesm: join(SIM, "pvesm"),
        template,
        storage: "ctstore",
        snippetStorage: "local",
        snippetDir,
        confDir,
        vmidRange: { min: base, max: base + 90 },
        shutdownTimeoutSeconds: 3,
        ...over,
      },
    },
    ...top,
  });
  const qm = simTool("qm", simRoot);
  const vmids = () => (existsSync(confDir) ? confVmids(confDir) : []);
  return {
    simRoot,
    env,
    base,
    template,
    confDir,
    snippetDir,
    settings,
    config: configFile(settings()),
    qm,
    vmidOf: recordVmid,
    snippets: () => readdirSync(snippetDir),
    /** VMIDs of the live QEMUs (`kvm ... -pidfile <simRoot>/var/run/qemu-server/<vmid>.pid`) of this stand-in. */
    kvms: () => kvmProcesses(simRoot),
    /** VM configs present (the template's excepted), as VMIDs. */
    vms: () => vmids().filter((v) => v !== template),
    /** Lays out storage.cfg and its directories, then makes the template VM from a blank disk image. */
    init: async () => {
      const listed = await qm(["list"]);
      if (listed.exitCode !== 0) return listed;
      const image = join(simRoot, "debian-12-genericcloud.raw");
      writeFileSync(image, Buffer.alloc(256 * 1024));
      const made = await qm(["create", String(template), "--name", "tmpl", "--memory", "256", "--net0", "virtio,bridge=vmbr0", "--scsihw", "virtio-scsi-pci", "--scsi0", `ctstore:0,import-from=${image}`, "--ide2", "ctstore:cloudinit", "--serial0", "socket", "--vga", "serial0"]);
      return made.exitCode !== 0 ? made : qm(["template", String(template)]);
    },
    /** Whatever a failed test left: every VM of this stand-in (its QEMU stand-in is a real process), by VMID. */
    destroyAll: async () => {
      for (const v of vmids()) {
        await qm(["unlock", String(v)]);
        await qm(["stop", String(v)]);
        await qm(["destroy", String(v), "--purge"]);
      }
    },
  };
}

/** pveSimSuite for the qm stand-in: laid out (template VM made) before the tests; after them every VM destroyed, then the file's containers and directories removed. */
export function pveVmSimSuite(blocks?: number) {
  const cleanup = new Cleanup();
  const sim = pveVmSim(cleanup, blocks);
  beforeAll(async () => {
    const r = await sim.init();
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(async () => {
    // the VMs first, while the stand-in's root (their configs) is still there
    await sim.destroyAll();
    await cleanup.run();
  }, 600_000);
  return { cleanup, sim };
}

/** VMIDs of the live QEMU (`kvm`) processes whose pid file lies under `simRoot`. */
function kvmProcesses(simRoot: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // exited meanwhile
    }
    const pidfile = argv[argv.indexOf("-pidfile") + 1] ?? "";
    if (argv[0] !== "kvm" || !pidfile.startsWith(simRoot)) continue;
    out.push(Number(/(\d+)\.pid$/.exec(pidfile)?.[1])); // the stand-in's QEMU: `-pidfile …/qemu-server/<vmid>.pid`
  }
  return out;
}

/** A file's text, "" when it is gone (e.g. a guest config another case's delete removed meanwhile). */
export function textOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The VMID a container's record names, else the one its backend's crash intent (`intentFile`) names. */
export function vmidIn(dir: string, intentFile: string): number | undefined {
  for (const [file, get] of [["state.json", (d: any) => d.nexcage?.ref?.vmid], [intentFile, (d: any) => d.vmid]] as const) {
    const text = textOr(join(dir, file));
    if (text === "") continue;
    try {
      const v = get(JSON.parse(text));
      if (typeof v === "number") return v;
    } catch {
      // half-written by the crash
    }
  }
  return undefined;
}

/**
 * One crash case (e2e/crash-harness.ts) on a Proxmox guest backend: the guest's init pid from
 * `<tool> status --verbose` of the VMID the record or intent names; `leftovers` gets that VMID.
 */
export async function guestCrashCase(
  c: CrashCase,
  g: {
    root: string;
    id: string;
    bundle: string;
    config: string;
    env: Record<string, string>;
    intentFile: string;
    status: (vmid: number) => Promise<{ stdout: string }>;
    leftovers: (vmid: number | undefined) => string[];
    createFlags?: readonly string[];
  },
): Promise<void> {
  let vmid: number | undefined;
  await crashCase(c, {
    n: (args, extra = {}) => nexcage(g.root, args, { config: g.config, ...extra, env: { ...g.env, ...extra.env } }),
    root: g.root,
    bundle: g.bundle,
    id: g.id,
    initPid: async () => {
      vmid = vmidIn(join(g.root, g.id), g.intentFile);
      if (vmid === undefined) return undefined;
      const pid = Number(parseStatus((await g.status(vmid)).stdout)["pid"]);
      return pid > 0 ? pid : undefined;
    },
    leftovers: async () => g.leftovers(vmid),
    createFlags: g.createFlags,
  });
}
