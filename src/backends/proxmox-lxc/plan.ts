import { InvalidArgumentError, UnsupportedError } from "../../errors.js";
import { parseSignal } from "../../oci/signals.js";
import { descriptionLine, hostnameFromId, isDnsName } from "../proxmox/guest-names.js";
import { parsePlanSpec, type PlanSpec } from "../proxmox/plan-spec.js";
import type { ProxmoxLxcSettings } from "./settings.js";
import { initArgs } from "./attach/mapping.js";
import { resourceOptions } from "./resources.js";
import { isNetSysctl, namespaceJoins, podFacts, type NamespaceJoin, type NsSysctl } from "./pod.js";

export { configIsFor, descriptionLine, hostnameFromId, isDnsName } from "../proxmox/guest-names.js";

export interface PlanInput {
  readonly id: string;
  readonly bundlePath: string;
  /** The bundle's config.json as parsed JSON. */
  readonly spec: unknown;
  readonly settings: ProxmoxLxcSettings;
  /** Whether a host path is a directory (bind mounts of directories become mpN, of files lxc.mount.entry). */
  readonly isDirectory: (hostPath: string) => boolean;
  /** Whether a console socket was asked for (it cannot be honoured). */
  readonly consoleSocket: boolean;
  /**
   * The CT is made from an OCI archive that `pct create` maps itself (PVE >= 9.1: entrypoint, env,
   * user, workdir, stop signal): the process is then not mapped here.
   */
  readonly imageMappedByProxmox?: boolean;
  /**
   * The caller reaps the process through a proxy (containerd's shim): the init is the helper that
   * runs process.args with the handed-over stdio, and a terminal comes through the console socket.
   */
  readonly attached?: boolean;
  /** The host's cgroups are v2 only (Proxmox VE 7+): which raw key opens a pod CT's devices cgroup. */
  readonly unifiedCgroup?: boolean;
  /**
   * The node's memory in MiB: a pod's CT whose sandbox names no memory limit gets it, so that Proxmox's
   * default (512 MiB) does not cap every container of the pod (they are in the CT's cgroup).
   */
  readonly hostMemoryMiB?: number;
}

export interface Plan {
  /** Options for `pct create <vmid> <template>`, in order. */
  readonly createOptions: readonly string[];
  /** Raw `lxc.*` lines appended to /etc/pve/lxc/<vmid>.conf (Proxmox has no option for them). */
  readonly lxcLines: readonly string[];
  /** What the mapping replaced by Proxmox's own defaults (logged, never silent). */
  readonly notes: readonly string[];
  readonly hostname: string;
  /** Namespaces the CT's process joins (attached only): the proxy opens them, the helper setns()es. */
  readonly joins: readonly NamespaceJoin[];
  /** The CT runs privileged (`--unprivileged 0`): joining a namespace of the host's user namespace needs CAP_SYS_ADMIN there. */
  readonly privileged: boolean;
  /**
   * Sysctls set from the host with nsenter: net.* ones in the network namespace the process joins by
   * path (at create), and in a privileged CT the IPC ones in its IPC namespace (at start: LXC's
   * lxc.sysctl fails there, /proc/sys being read-only under proc:mixed).
   */
  readonly nsSysctls: readonly NsSysctl[];
}

/** Pseudo filesystems LXC and Proxmox set up themselves: never turned into mount points. */
const STANDARD_MOUNTS = new Set(["/proc", "/sys", "/sys/fs/cgroup", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"]);
const PSEUDO_TYPES = new Set(["proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"]);
/** lxc.sysctl keys Proxmox accepts (IPC namespace). */
const SYSCTL_ALLOWED = /^(kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)|fs\.mqueue\.[a-z_]+)$/;

function refuse(what: string): never {
  throw new UnsupportedError(`proxmox-lxc cannot honour ${what}`);
}

/**
 * One argument for lxc.init.cmd / entrypoint: LXC splits on white space and honours only whole-word
 * '...' or "..." quoting, without escapes.
 */
export function quoteInitArg(arg: string): string {
  if (/[\0-\x08\x0a-\x1f\x7f]/.test(arg)) refuse(`process.args with control characters (${JSON.stringify(arg)})`);
  if (arg !== "" && !/[\s'"]/.test(arg)) return arg;
  if (!arg.includes("'")) return `'${arg}'`;
  if (!arg.includes('"')) return `"${arg}"`;
  return refuse(`process.args element ${JSON.stringify(arg)} (LXC cannot quote both ' and " in one argument)`);
}

function noNewline(what: string, value: string): string {
  if (/[\n\r\0]/.test(value)) refuse(`${what} containing a newline or NUL`);
  return value;
}

/** A mount destination: absolute, no `..`, no white space, control characters, `,` or `=`. */
function checkedDestination(dest: string): string {
  if (!dest.startsWith("/")) refuse(`a relative mount destination (${JSON.stringify(dest)})`);
  if (dest.split("/").includes("..")) refuse(`mount destination ${JSON.stringify(dest)}`);
  if (/[\s\0-\x1f\x7f,=]/.test(dest)) refuse(`mount destination with white space, control characters, ',' or '=' (${JSON.stringify(dest)})`);
  return dest;
}

/** Mount destination relative to the rootfs, as lxc.mount.entry wants it. */
function relativeTarget(dest: string): string {
  const rel = checkedDestination(dest).replace(/^\/+/, "");
  if (rel === "") refuse(`mount destination ${JSON.stringify(dest)}`);
  return rel;
}

/** process → init: `--entrypoint` (pushed onto `opts`) and the lxc.* lines for env, cwd, user, rlimits, capabilities, stop signal. */
function processLines(spec: PlanSpec, opts: string[], attached: boolean, joins: boolean, notes: string[]): string[] {
  const lxc: string[] = [];
  const user = spec.process.user;
  if (user?.username !== undefined) refuse("process.user.username (give uid and gid)");
  // joining namespaces needs CAP_SYS_ADMIN: the helper stays root and gives the child the process's user
  const helperSetsUser = attached && joins && user !== undefined && (user.uid !== 0 || user.gid !== 0 || (user.additionalGids ?? []).length > 0);
  const initUser = helperSetsUser ? { uid: user.uid, gid: user.gid, groups: user.additionalGids ?? [] } : undefined;
  opts.push("--entrypoint", (attached ? initArgs(spec.process.args, initUser) : spec.process.args).map(quoteInitArg).join(" "));
  for (const [i, e] of (spec.process.env ?? []).entries()) {
    // the entry is not quoted: it may hold a credential
    if (!/^[^=\s]+=/.test(e)) throw new InvalidArgumentError(`process.env[${i}] is not KEY=VALUE`);
    lxc.push(`lxc.environment.runtime: ${noNewline("process.env", e)}`);
  }
  lxc.push(`lxc.init.cwd: ${noNewline("process.cwd", spec.process.cwd)}`);
  if (user && !helperSetsUser) {
    lxc.push(`lxc.init.uid: ${user.uid}`, `lxc.init.gid: ${user.gid}`);
    if (user.additionalGids && user.additionalGids.length > 0) lxc.push(`lxc.init.groups: ${user.additionalGids.join(",")}`);
  }
  for (const r of spec.process.rlimits ?? []) {
    const name = /^RLIMIT_([A-Z]+)$/.exec(r.type)?.[1];
    if (!name) throw new InvalidArgumentError(`process.rlimits type ${JSON.stringify(r.type)} is not RLIMIT_*`);
    lxc.push(`lxc.prlimit.${name.toLowerCase()}: ${r.soft}:${r.hard}`);
  }
  const bounding = spec.process.capabilities?.bounding;
  // lxc.cap.keep bounds the CT's init, the helper, which needs CAP_SYS_ADMIN for setns()
  if (bounding !== undefined && joins) notes.push("process.capabilities: the CT keeps Proxmox's privileged set (its init joins the pod's namespaces)");
  else if (bounding !== undefined) {
    const keep = bounding.map((c) => {
      const m = /^CAP_([A-Z_]+)$/.exec(c);
      if (!m) throw new InvalidArgumentError(`process.capabilities: ${JSON.stringify(c)} is not a capability`);
      return m[1]!.toLowerCase();
    });
    lxc.push(`lxc.cap.keep: ${keep.length > 0 ? keep.join(" ") : "none"}`);
  }
  // an image's StopSignal (image-spec conversion annotation) → the signal `pct shutdown` sends, as PVE 9.1 does
  const stopSignal = spec.annotations?.["org.opencontainers.image.stopSignal"];
  if (stopSignal !== undefined) {
    let sig: string;
    try {
      sig = parseSignal(stopSignal).name;
    } catch {
      throw new InvalidArgumentError(`annotation org.opencontainers.image.stopSignal: unknown signal ${JSON.stringify(stopSignal)}`);
    }
    lxc.push(`lxc.signal.halt: ${sig}`);
  }
  return lxc;
}

/**
 * Pure: bundle + settings → `pct create` options and raw lxc lines. Anything that cannot be mapped
 * is refused with a clear error; nothing is dropped silently.
 */
export function planContainer(input: PlanInput): Plan {
  const spec: PlanSpec = parsePlanSpec(input.spec);
  const s = input.settings;
  const notes: string[] = [];
  const lxc: string[] = [];
  const opts: string[] = [];

  const attached = input.attached === true;
  if (input.consoleSocket && !attached) refuse("--console-socket (Proxmox containers have their own console)");
  if (spec.process.terminal && !(attached && input.consoleSocket)) refuse("process.terminal without --console-socket (Proxmox containers have their own console)");
  if (spec.hooks && Object.values(spec.hooks).some((h) => h.length > 0)) refuse("OCI hooks");

  // hostname
  let hostname: string;
  if (spec.hostname !== undefined && spec.hostname !== "") {
    if (!isDnsName(spec.hostname)) throw new InvalidArgumentError(`hostname ${JSON.stringify(spec.hostname)} is not a valid DNS name (Proxmox requires one)`);
    hostname = spec.hostname;
  } else {
    hostname = hostnameFromId(input.id);
  }
  opts.push("--hostname", hostname);

  // namespaces: joined by the helper in the CT (attached), else the CT's own
  const joins = namespaceJoins(spec, attached);
  const privileged = joins.length > 0 || !s.unprivileged;
  if (joins.length > 0 && s.unprivileged) notes.push("the CT is privileged: its init joins namespaces of the host's user namespace");
  const netJoin = joins.find((j) => j.type === "network");
  const pod = podFacts(spec.annotations);
  const isPodCt = pod.tags.length > 0 && joins.length > 0;
  // a CRI sandbox's containers are crun's, in cgroups under the CT's: a devices cgroup may not allow
  // more than its parent, so the CT's allows every device and crun applies each container's rules
  if (isPodCt && !(spec.linux?.namespaces ?? []).some((n) => n.type === "pid")) {
    notes.push("hostPID: the pod's containers share the host's pid namespace; the CT's init and its process keep the CT's own");
  }
  if (isPodCt) {
    lxc.push(`${input.unifiedCgroup === true ? "lxc.cgroup2" : "lxc.cgroup"}.devices.allow: a`);
    notes.push("the pod's CT allows every device in its cgroup (its containers' own device rules are crun's)");
  }

  // resources
  opts.push(...resourceOptions(spec.linux?.resources, notes));
  if (isPodCt && spec.linux?.resources?.memory?.limit === undefined && input.hostMemoryMiB !== undefined) {
    // the CRI gives a sandbox no pod-wide limit; each container's own limit is its crun cgroup's
    opts.push("--memory", String(input.hostMemoryMiB));
    notes.push(`the pod's CT gets the node's memory (${input.hostMemoryMiB} MiB): its sandbox names no limit, and Proxmox's default would cap every container of the pod`);
  }

  // network, storage, privileges
  // a process that joins another network namespace needs no interface of the CT's
  if (netJoin === undefined) {
    let net0 = `name=eth0,bridge=${s.bridge},ip=${s.ip}`;
    if (s.gateway !== undefined) net0 += `,gw=${s.gateway}`;
    opts.push("--net0", net0);
  }
  opts.push("--rootfs", `${s.storage}:${s.rootfsSizeGiB}${spec.root.readonly ? ",ro=1" : ""}`);
  opts.push("--unprivileged", privileged ? "0" : "1");
  opts.push("--ostype", s.ostype);
  if (s.features !== undefined) opts.push("--features", s.features);
  opts.push("--tags", ["nexcage", ...s.tags, ...pod.tags].join(";"));
  opts.push("--description", [descriptionLine(input.id), ...(pod.description !== undefined ? [pod.description] : []), `bundle: ${input.bundlePath}`].join("\n"));

  if (!input.imageMappedByProxmox) lxc.push(...processLines(spec, opts, attached, joins.length > 0, notes));
  else if (attached) refuse("an OCI archive mapped by Proxmox (ociImages: pct) for a container whose process is reaped through --pid-file");
  const nsSysctls: NsSysctl[] = [];
  const ownIpc = !joins.some((j) => j.type === "ipc");
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    const text = noNewline("linux.sysctl", String(value));
    if (isNetSysctl(key) && netJoin !== undefined && netJoin.host !== true) nsSysctls.push({ ns: "net", key, value: text });
    else if (SYSCTL_ALLOWED.test(key) && ownIpc && privileged && attached) nsSysctls.push({ ns: "ipc", key, value: text });
    else if (SYSCTL_ALLOWED.test(key) && ownIpc) lxc.push(`lxc.sysctl.${key}: ${text}`);
    else refuse(`linux.sysctl ${key} (Proxmox allows only IPC namespace sysctls, in the CT's own IPC namespace; net.* ones only with a network namespace path)`);
  }

  // mounts
  let mp = 0;
  for (const m of spec.mounts ?? []) {
    const type = m.type ?? "";
    const options = m.options ?? [];
    const isBind = type === "bind" || options.includes("bind") || options.includes("rbind");
    const dest = m.destination.replace(/\/+$/, "");
    // a bind over /dev/shm is the pod's shared memory (a host directory the CRI gives each container of the pod)
    const shm = isBind && dest === "/dev/shm";
    if (!shm && (STANDARD_MOUNTS.has(dest) || PSEUDO_TYPES.has(type))) continue;
    const ro = options.includes("ro");
    if (isBind) {
      if (m.source === undefined || !m.source.startsWith("/")) refuse(`bind mount with a relative source (${JSON.stringify(m.source)})`);
      const source = noNewline("mount source", m.source);
      if (/[,=\s\0-\x1f\x7f]/.test(source)) refuse(`bind mount source with ',', '=', white space or control characters (${JSON.stringify(source)})`);
      if (shm) {
        // over LXC's own /dev/shm, after autodev (an mpN would be hidden under it)
        lxc.push(`lxc.mount.entry: ${source} dev/shm none bind${ro ? ",ro" : ""},create=dir 0 0`);
        continue;
      }
      if (input.isDirectory(source)) {
        opts.push(`--mp${mp}`, `${source},mp=${checkedDestination(m.destination)}${ro ? ",ro=1" : ""}`);
        mp += 1;
      } else {
        lxc.push(`lxc.mount.entry: ${source} ${relativeTarget(m.destination)} none bind${ro ? ",ro" : ""},create=file 0 0`);
      }
    } else if (type === "tmpfs") {
      const tmpfsOptions = options.filter((o) => /^(ro|rw|nosuid|nodev|noexec|strictatime|relatime|noatime|nodiratime|size=[0-9]+[kmg%]?|mode=[0-7]{3,4}|uid=[0-9]+|gid=[0-9]+)$/.test(o));
      if (tmpfsOptions.length !== options.length) refuse(`tmpfs mount options ${JSON.stringify(options)}`);
      lxc.push(`lxc.mount.entry: tmpfs ${relativeTarget(m.destination)} tmpfs ${[...tmpfsOptions, "create=dir"].join(",")} 0 0`);
    } else {
      refuse(`a ${type || "typeless"} mount at ${m.destination}`);
    }
  }

  // security settings Proxmox replaces with its own profile: said, not dropped silently
  const linux = (input.spec as { linux?: Record<string, unknown> }).linux ?? {};
  for (const key of ["seccomp", "maskedPaths", "readonlyPaths", "uidMappings", "gidMappings", "devices"]) {
    if (linux[key] !== undefined) notes.push(`linux.${key} replaced by Proxmox's container profile`);
  }
  const proc = input.spec as { process?: Record<string, unknown> };
  for (const key of ["apparmorProfile", "selinuxLabel", "noNewPrivileges", "oomScoreAdj"]) {
    if (proc.process?.[key] !== undefined) notes.push(`process.${key} replaced by Proxmox's container profile`);
  }
  return { createOptions: opts, lxcLines: lxc, notes, hostname, joins, privileged, nsSysctls };
}
