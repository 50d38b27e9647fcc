import { InvalidArgumentError, UnsupportedError } from "../../errors.js";
import type { PlanSpec } from "../proxmox/plan-spec.js";
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_NAME, CRI_SANDBOX_NAMESPACE } from "../../oci/cri-annotations.js";

/**
 * Pure mappings for a CT that is a Kubernetes pod's sandbox (docs/backends/proxmox-lxc-pods.md):
 * the namespaces its process joins (by path, or the host's), the pod's tags and description line,
 * and which sysctls go to the pod's network namespace.
 */

/** The namespaces the CT's helper can join before it forks the process (setns in the CT's init). */
export type JoinableNamespace = "network" | "ipc" | "uts";
const JOINABLE: readonly JoinableNamespace[] = ["network", "ipc", "uts"];
/**
 * The host's namespaces as the proxy opens them: its own, i.e. those of nexcage and of the shim
 * that runs it (pid 1's may not even be readable, in a container of a container).
 */
const HOST_NAMESPACE: Readonly<Record<JoinableNamespace, string>> = { network: "/proc/self/ns/net", ipc: "/proc/self/ns/ipc", uts: "/proc/self/ns/uts" };

export interface NamespaceJoin {
  readonly type: JoinableNamespace;
  /** Opened by the proxy on the host at create; its fd goes to the CT's helper with the stdio. */
  readonly path: string;
  /** The host's own (the spec did not list the type): nothing may be changed in it. */
  readonly host?: true;
}

function refuse(what: string): never {
  throw new UnsupportedError(`proxmox-lxc cannot honour ${what}`);
}

/**
 * Pure: the namespaces a CT's process joins. Outside the attached mode there is no helper to join
 * anything: a path or a missing network namespace is refused, as before. Attached, a path of a
 * network, IPC or UTS namespace is joined, and so is the host's when the spec lists namespaces
 * without that type (hostNetwork, hostIPC); a pid or mount namespace can never be joined (the CT's
 * init cannot leave its own: setns(CLONE_NEWPID) only reaches descendants of the caller's), nor
 * shared with the host, except a CRI sandbox's hostPID (above).
 */
export function namespaceJoins(spec: PlanSpec, attached: boolean): NamespaceJoin[] {
  const list = spec.linux?.namespaces;
  if (list === undefined) return [];
  const joins: NamespaceJoin[] = [];
  for (const ns of list) {
    if (ns.path === undefined || ns.path === "") continue;
    if (!attached || !(JOINABLE as readonly string[]).includes(ns.type)) refuse(`joining an existing ${ns.type} namespace (${ns.path})`);
    if (!ns.path.startsWith("/") || /[\0-\x1f\x7f]/.test(ns.path)) throw new InvalidArgumentError(`linux.namespaces: ${ns.type} path ${JSON.stringify(ns.path)} is not an absolute path`);
    joins.push({ type: ns.type as JoinableNamespace, path: ns.path });
  }
  const given = new Set(list.map((n) => n.type));
  if (!attached && !given.has("network")) refuse("sharing the host's network namespace");
  // hostPID of a CRI sandbox: its containers (crun's) get the host's pid namespace as asked; the
  // CT's init and pause keep the CT's own, which the host's contains anyway
  const hostPidPod = attached && spec.annotations?.[CRI_CONTAINER_TYPE] === "sandbox";
  if (!given.has("pid") && !hostPidPod) refuse("sharing the host's pid namespace");
  if (!given.has("mount")) refuse("sharing the host's mount namespace");
  // without the helper a CT has its own IPC and UTS namespaces, listed or not (as before)
  if (!attached) return joins;
  for (const type of JOINABLE) if (!given.has(type)) joins.push({ type, path: HOST_NAMESPACE[type], host: true });
  return joins;
}

/** Proxmox's tag format (pve-tag): what a pod's namespace and name become as tags. */
function tagOf(prefix: string, value: string): string | undefined {
  const t = `${prefix}${value.toLowerCase().replace(/[^a-z0-9_.+-]+/g, "-")}`.slice(0, 128);
  return /^[a-z0-9_][a-z0-9_+.-]*$/.test(t) ? t : undefined;
}

export interface PodFacts {
  /** Extra Proxmox tags: `k8s`, `ns-<namespace>`, `pod-<name>`. */
  readonly tags: string[];
  /** A description line naming the pod (after the line naming the OCI id). */
  readonly description?: string;
}

/** Pure: what Proxmox shows of a CRI sandbox (tags, description); nothing for other specs. */
export function podFacts(annotations: Readonly<Record<string, string>> | undefined): PodFacts {
  if (annotations?.[CRI_CONTAINER_TYPE] !== "sandbox") return { tags: [] };
  const ns = annotations[CRI_SANDBOX_NAMESPACE];
  const name = annotations[CRI_SANDBOX_NAME];
  const tags = ["k8s", ...(ns !== undefined ? [tagOf("ns-", ns)] : []), ...(name !== undefined ? [tagOf("pod-", name)] : [])].filter((t): t is string => t !== undefined);
  const shown = (v: string) => v.replace(/[\0-\x1f\x7f]/g, "?");
  const description = name !== undefined ? `pod: ${shown(ns ?? "")}/${shown(name)}` : undefined;
  return { tags, ...(description !== undefined ? { description } : {}) };
}

/** A sysctl nexcage sets from the host in one of the CT process's namespaces. */
export interface NsSysctl {
  readonly ns: "net" | "ipc";
  readonly key: string;
  readonly value: string;
}

/**
 * Pure: whether a sysctl belongs to the network namespace (applied there with nsenter at create,
 * since Proxmox's lxc.sysctl keys are the IPC ones only).
 */
export function isNetSysctl(key: string): boolean {
  return /^net\.[a-zA-Z0-9_.-]+$/.test(key) && !key.includes("..");
}

/**
 * Pure: the CT's own cgroup (`/lxc/<vmid>`, where Proxmox sets its limits; its processes are in
 * the `ns` directory below) from the text of /proc/<pid>/cgroup of one of its processes: the
 * memory controller's line on cgroup v1, else the unified one. Undefined when neither names it.
 */
export function ctCgroup(cgroupText: string, vmid: number): string | undefined {
  const lines = cgroupText.split("\n").map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  const line = lines.find((m) => m[1]!.split(",").includes("memory")) ?? lines.find((m) => m[1] === "");
  const m = line !== undefined ? new RegExp(`^(.*/lxc/${vmid})(/|$)`).exec(line[2]!) : null;
  return m ? m[1] : undefined;
}
