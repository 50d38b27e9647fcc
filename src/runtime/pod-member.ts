import { InvalidArgumentError } from "../errors.js";
import type { MemberPlacement } from "../backends/contract.js";
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID } from "../oci/cri-annotations.js";

/**
 * Pure: a Kubernetes pod's container (not its sandbox) whose sandbox runs on a backend with
 * member placement (proxmox-lxc): recognised by the CRI's annotations, its spec rewritten to join
 * the namespaces and the cgroup the backend names (docs/backends/proxmox-lxc-pods.md).
 */


/** The sandbox id of a pod's container (CRI annotations); undefined for a sandbox or any other container. */
export function podSandboxOf(annotations: Readonly<Record<string, string>>): string | undefined {
  if (annotations[CRI_CONTAINER_TYPE] !== "container") return undefined;
  const id = annotations[CRI_SANDBOX_ID];
  return id !== undefined && id !== "" ? id : undefined;
}

type Json = Record<string, unknown>;

/**
 * The member's config.json: every namespace path into the sandbox's pid-file process (which, for
 * a CT, is nexcage's proxy on the host: its namespaces are the host's) turned into the same
 * namespace of the placement's process; linux.cgroupsPath under the placement's cgroup, named by
 * the member's id; root.path absolute (the rewritten config lives in another directory).
 */
export function memberSpec(spec: unknown, rootfs: string, id: string, p: MemberPlacement): Json {
  const s = structuredClone(spec) as Json;
  const linux = (typeof s["linux"] === "object" && s["linux"] !== null ? s["linux"] : {}) as Json;
  const namespaces = Array.isArray(linux["namespaces"]) ? (linux["namespaces"] as Json[]) : [];
  const from = new RegExp(`^/proc/${p.pidFilePid}/ns/([a-z_]+)$`);
  linux["namespaces"] = namespaces.map((ns) => {
    const path = ns["path"];
    if (typeof path !== "string") return ns;
    const m = from.exec(path);
    if (m) return { ...ns, path: `/proc/${p.pid}/ns/${m[1]}` };
    if (/^\/proc\/[0-9]+\/ns\//.test(path)) {
      throw new InvalidArgumentError(`linux.namespaces: ${String(ns["type"])} path ${path} is not the pod sandbox's (pid ${p.pidFilePid})`);
    }
    return ns;
  });
  linux["cgroupsPath"] = `${p.cgroupParent}/${id}`;
  s["linux"] = linux;
  s["root"] = { ...((s["root"] as Json | undefined) ?? {}), path: rootfs };
  return s;
}
