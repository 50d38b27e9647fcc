import { InvalidArgumentError, UnsupportedError } from "../../errors.js";
import { descriptionLine, hostnameFromId, isDnsName } from "../proxmox/guest-names.js";
import { countCpus, parsePlanSpec, type PlanSpec } from "../proxmox/plan-spec.js";
import { renderUserData } from "./cloud-init.js";
import { STATUS_DISK_GIB, STATUS_DISK_KEY, STATUS_DISK_SERIAL } from "./exit-status.js";
import { QM_LIMITS } from "./qm-limits.js";
import type { ProxmoxVmSettings } from "./settings.js";
import { noControl, type AppService } from "./unit.js";


export interface PlanInput {
  readonly id: string;
  readonly bundlePath: string;
  /** The bundle's config.json as parsed JSON. */
  readonly spec: unknown;
  readonly settings: ProxmoxVmSettings;
  /** Whether a console socket was asked for (it cannot be honoured). */
  readonly consoleSocket: boolean;
  /** File name of the user-data snippet in the snippet storage (see snippetFileName). */
  readonly snippetFile: string;
}

export interface VmPlan {
  /** The VM's name (`--name`). */
  readonly name: string;
  readonly hostname: string;
  /** `<snippetStorage>:snippets/<file>`, referenced by `--cicustom user=`. */
  readonly snippetVolume: string;
  /** The cloud-init user-data written to the snippet. */
  readonly userData: string;
  /** qm argv lists, in order, that make the VM `<vmid>`; the first one creates it. */
  readonly commands: (vmid: number) => string[][];
  /** What the mapping replaced or left out (logged, never silent). */
  readonly notes: readonly string[];
}

const MiB = 1024 * 1024;
/** Pseudo filesystems every guest has: never mapped. */
const STANDARD_MOUNTS = new Set(["/proc", "/sys", "/sys/fs/cgroup", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"]);
const PSEUDO_TYPES = new Set(["proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"]);
/** setrlimit names systemd has a Limit*= for. */
const RLIMITS = new Set(["AS", "CORE", "CPU", "DATA", "FSIZE", "LOCKS", "MEMLOCK", "MSGQUEUE", "NICE", "NOFILE", "NPROC", "RSS", "RTPRIO", "RTTIME", "SIGPENDING", "STACK"]);

function refuse(what: string): never {
  throw new UnsupportedError(`proxmox-vm cannot honour ${what}`);
}

/** A snippet file name Proxmox accepts for `<storage>:snippets/<file>`, unique per create. */
export function snippetFileName(id: string, now = Date.now()): string {
  return `nexcage-${id.replace(/[^A-Za-z0-9_.-]/g, "_")}-${now.toString(36)}.yaml`;
}



/** memory, cores, cpulimit, cpuunits from linux.resources (settings fill what the bundle leaves open). */
function sizing(spec: PlanSpec, s: ProxmoxVmSettings, notes: string[]): string[] {
  const opts: string[] = [];
  const mem = spec.linux?.resources?.memory;
  const memMiB = mem?.limit !== undefined && mem.limit > 0 ? Math.max(QM_LIMITS.memoryMiB.min, Math.ceil(mem.limit / MiB)) : s.memoryMiB;
  if (memMiB > QM_LIMITS.memoryMiB.max) throw new InvalidArgumentError(`linux.resources.memory.limit ${mem!.limit} is above the ${QM_LIMITS.memoryMiB.max} MiB a Proxmox VM can have`);
  opts.push("--memory", String(memMiB));
  if (mem?.swap !== undefined) notes.push("linux.resources.memory.swap not applied: a VM's swap lives inside the guest");
  const cpu = spec.linux?.resources?.cpu;
  const cores = cpu?.cpus !== undefined && cpu.cpus !== "" ? Math.min(8192, countCpus(cpu.cpus)) : s.cores;
  opts.push("--cores", String(cores));
  if (cpu?.quota !== undefined && cpu.quota > 0) {
    const period = cpu.period && cpu.period > 0 ? cpu.period : 100_000;
    opts.push("--cpulimit", String(Math.min(QM_LIMITS.cpulimit.max, Math.max(0.01, Math.round((cpu.quota / period) * 100) / 100))));
  }
  if (cpu?.shares !== undefined && cpu.shares > 0) opts.push("--cpuunits", String(Math.min(QM_LIMITS.cpuunits.max, Math.max(QM_LIMITS.cpuunits.min, Math.round(cpu.shares)))));
  return opts;
}

/** tmpfs mounts become TemporaryFileSystem= of the service; the standard ones exist in every guest. */
function mountsOf(spec: PlanSpec): string[] {
  const tmpfs: string[] = [];
  for (const m of spec.mounts ?? []) {
    const type = m.type ?? "";
    const options = m.options ?? [];
    if (STANDARD_MOUNTS.has(m.destination.replace(/\/+$/, "")) || PSEUDO_TYPES.has(type)) continue;
    if (type === "bind" || options.includes("bind") || options.includes("rbind")) refuse(`a bind mount at ${m.destination} (host paths do not reach a VM)`);
    if (type !== "tmpfs") refuse(`a ${type || "typeless"} mount at ${m.destination}`);
    if (!m.destination.startsWith("/") || m.destination.split("/").includes("..") || /[\s:,]/.test(m.destination)) refuse(`mount destination ${JSON.stringify(m.destination)}`);
    const ok = options.filter((o) => /^(ro|rw|nosuid|nodev|noexec|size=[0-9]+[kmg%]?|mode=[0-7]{3,4}|uid=[0-9]+|gid=[0-9]+)$/.test(o));
    if (ok.length !== options.length) refuse(`tmpfs mount options ${JSON.stringify(options)}`);
    tmpfs.push(ok.length > 0 ? `${m.destination}:${ok.join(",")}` : m.destination);
  }
  return tmpfs;
}

function serviceOf(id: string, spec: PlanSpec): AppService {
  const p = spec.process;
  const exe = p.args[0]!;
  if (!exe.startsWith("/") && exe.includes("/")) refuse(`a relative program path (${JSON.stringify(exe)}): give an absolute path or a bare name`);
  for (const [i, e] of (p.env ?? []).entries()) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw new InvalidArgumentError(`process.env[${i}] is not KEY=VALUE`); // not quoted: it may hold a credential
  }
  if (!p.cwd.startsWith("/")) throw new InvalidArgumentError(`process.cwd ${JSON.stringify(p.cwd)} is not absolute`);
  const limits = (p.rlimits ?? []).map((r): [string, string] => {
    const name = /^RLIMIT_([A-Z]+)$/.exec(r.type)?.[1];
    if (!name || !RLIMITS.has(name)) throw new InvalidArgumentError(`process.rlimits type ${JSON.stringify(r.type)} is not a known RLIMIT_*`);
    return [`Limit${name}`, `${r.soft}:${r.hard}`];
  });
  const bounding = p.capabilities?.bounding?.map((c) => {
    if (!/^CAP_[A-Z_]+$/.test(c)) throw new InvalidArgumentError(`process.capabilities: ${JSON.stringify(c)} is not a capability`);
    return c;
  });
  const user = p.user;
  return {
    id,
    args: p.args,
    env: p.env ?? [],
    cwd: p.cwd,
    user: user === undefined ? undefined : (user.username ?? String(user.uid)),
    group: user === undefined ? undefined : String(user.gid),
    supplementaryGroups: user?.additionalGids ?? [],
    limits,
    capabilityBoundingSet: bounding,
    noNewPrivileges: p.noNewPrivileges === true,
    tmpfs: mountsOf(spec),
  };
}

function sysctlOf(spec: PlanSpec): Array<[string, string]> {
  return Object.entries(spec.linux?.sysctl ?? {}).map(([k, v]) => {
    if (!/^[a-z0-9_][a-z0-9_.\-/]*$/.test(k)) throw new InvalidArgumentError(`linux.sysctl key ${JSON.stringify(k)} is not a sysctl name`);
    return [k, noControl(`linux.sysctl ${k}`, String(v))];
  });
}

/**
 * Pure: bundle + settings → the qm commands that make the VM and the cloud-init user-data that
 * runs the bundle's process in it. What a VM cannot express is refused; nothing is dropped silently.
 */
export function planVm(input: PlanInput): VmPlan {
  const s = input.settings;
  if (s.template === undefined && s.image === undefined) {
    throw new InvalidArgumentError("backends.proxmox-vm needs a template (VMID of a template VM to clone) or an image (disk image to import)");
  }
  const spec = parsePlanSpec(input.spec);
  const notes: string[] = [];
  if (input.consoleSocket) refuse("--console-socket (a VM has its own serial console)");
  if (spec.process.terminal) refuse("process.terminal (a VM has its own serial console)");
  if (spec.hooks && Object.values(spec.hooks).some((h) => h.length > 0)) refuse("OCI hooks");
  for (const ns of spec.linux?.namespaces ?? []) {
    if (ns.path !== undefined && ns.path !== "") refuse(`joining an existing ${ns.type} namespace (${ns.path})`);
  }
  if (spec.linux?.namespaces && !spec.linux.namespaces.some((n) => n.type === "network")) refuse("sharing the host's network namespace");

  let hostname: string;
  if (spec.hostname !== undefined && spec.hostname !== "") {
    if (!isDnsName(spec.hostname)) throw new InvalidArgumentError(`hostname ${JSON.stringify(spec.hostname)} is not a valid DNS name`);
    hostname = spec.hostname;
  } else {
    hostname = hostnameFromId(input.id, "vm");
  }
  const name = hostnameFromId(input.id, "vm");
  const userData = renderUserData({ hostname, service: serviceOf(input.id, spec), sysctl: sysctlOf(spec) });
  const snippetVolume = `${s.snippetStorage}:snippets/${input.snippetFile}`;
  notes.push(`the bundle's root filesystem is not used: the VM boots ${s.template !== undefined ? `a clone of template ${s.template}` : `image ${s.image}`}`);
  const linux = (input.spec as { linux?: Record<string, unknown> }).linux ?? {};
  for (const key of ["seccomp", "maskedPaths", "readonlyPaths", "uidMappings", "gidMappings", "devices"]) {
    if (linux[key] !== undefined) notes.push(`linux.${key} not applied: the VM boundary replaces it`);
  }
  const proc = (input.spec as { process?: Record<string, unknown> }).process ?? {};
  for (const key of ["apparmorProfile", "selinuxLabel", "oomScoreAdj"]) {
    if (proc[key] !== undefined) notes.push(`process.${key} not applied: the VM boundary replaces it`);
  }

  const description = `${descriptionLine(input.id)}\nbundle: ${input.bundlePath}`;
  const tags = ["nexcage", ...s.tags].join(";");
  const net0 = `${s.netModel},bridge=${s.bridge}`;
  const ipconfig0 = `ip=${s.ip}${s.gateway !== undefined ? `,gw=${s.gateway}` : ""}`;
  const guest = [
    ...sizing(spec, s, notes),
    "--net0", net0,
    "--ipconfig0", ipconfig0,
    "--cicustom", `user=${snippetVolume}`,
    ...(s.agent ? ["--agent", "1"] : []),
    "--tags", tags,
  ];
  // after the boot disk, so that it is disk-0 of the VM
  const statusDisk = [`--${STATUS_DISK_KEY}`, `${s.storage}:${STATUS_DISK_GIB},serial=${STATUS_DISK_SERIAL}`];
  const commands = (vmid: number): string[][] => {
    const id = String(vmid);
    if (s.template !== undefined) {
      const clone = ["clone", String(s.template), id, "--name", name, "--description", description, "--full", s.fullClone ? "1" : "0"];
      if (s.fullClone) clone.push("--storage", s.storage);
      return [clone, ["set", id, ...guest, ...statusDisk]];
    }
    return [
      [
        "create", id,
        "--name", name,
        "--description", description,
        "--ostype", s.ostype,
        ...guest,
        "--scsihw", "virtio-scsi-pci",
        "--scsi0", `${s.storage}:0,import-from=${s.image!}`,
        "--ide2", `${s.storage}:cloudinit`,
        "--boot", "order=scsi0",
        "--serial0", "socket",
        "--vga", "serial0",
        ...statusDisk,
      ],
    ];
  };
  return { name, hostname, snippetVolume, userData, commands, notes };
}
