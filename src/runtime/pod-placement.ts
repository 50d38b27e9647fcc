import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { containerCgroupDirs } from "../backends/cgroup-paths.js";
import type { CreateRequest, MemberPlacement } from "../backends/contract.js";
import { StatusError, UnsupportedError } from "../errors.js";
import type { ContainerRecord } from "../state/record.js";
import type { RuntimeCore } from "./core.js";
import type { Prepared } from "./create.js";
import { memberSpec, podSandboxOf } from "./pod-member.js";

/** The host's runtime that runs a pod's containers beside their sandbox's CT. */
const MEMBER_BACKEND = "crun";
/** `<root>/<id>/<MEMBER_BUNDLE>`: the member's rewritten config.json (its rootfs stays the caller's). */
const MEMBER_BUNDLE = "pod-bundle";

export interface Member {
  readonly prepared: Prepared;
  readonly placement: MemberPlacement;
}

/**
 * A pod's container whose routed backend places members (proxmox-lxc): it goes to crun in the
 * namespaces and cgroup its sandbox's backend names. The sandbox must exist on that backend and
 * run; undefined for every other container.
 */
export async function placeMember(core: RuntimeCore, id: string, p: Prepared): Promise<Member | undefined> {
  if (p.bundle === undefined) return undefined;
  const sandbox = podSandboxOf(p.bundle.annotations);
  if (sandbox === undefined) return undefined;
  const routed = await core.backend(p.backend);
  if (routed.memberPlacement === undefined) return undefined;
  if (core.opts.systemdCgroup) throw new UnsupportedError(`${p.backend} pods need cgroupfs paths for their containers: run nexcage without --systemd-cgroup (SystemdCgroup = false)`);
  let rec;
  try {
    rec = core.store.read(sandbox);
  } catch {
    rec = undefined;
  }
  if (rec === undefined) throw new StatusError(`pod sandbox ${sandbox} of container ${id} does not exist`);
  if (rec.nexcage.backend !== p.backend) {
    throw new UnsupportedError(`pod sandbox ${sandbox} runs on ${rec.nexcage.backend} but container ${id} was routed to ${p.backend}: a pod is never split across backends`);
  }
  const live = await core.liveStatus(rec, false);
  if (live.status !== "running") throw new StatusError(`pod sandbox ${sandbox} is ${live.status}: its containers need it running`);
  const placement = await routed.memberPlacement(core.handle(rec));
  // the record names the rewritten bundle: a crashed create's purge finds the cgroup crun made from it
  const bundle = { ...p.bundle, path: join(core.store.dir(id), MEMBER_BUNDLE) };
  const pod = { sandbox, ...placement.note, cgroup: placement.cgroupParent };
  const prepared: Prepared = { bundle, backend: MEMBER_BACKEND, reason: `pod sandbox ${sandbox} (${p.reason})`, pod };
  return { prepared, placement };
}

/** The create request with the member's rewritten config.json written to its bundle directory (under the container's). */
export function memberRequest(req: CreateRequest, m: Member): CreateRequest {
  mkdirSync(req.bundle.path, { mode: 0o700 });
  const spec = memberSpec(req.bundle.spec, req.bundle.rootfs, req.id, m.placement);
  writeFileSync(join(req.bundle.path, "config.json"), JSON.stringify(spec));
  return { ...req, bundle: { ...req.bundle, spec: spec as CreateRequest["bundle"]["spec"] } };
}

/**
 * After a pod container's delete: once its sandbox is gone too, the sandbox's cgroup it was under
 * (the CT's, which LXC could not remove while this container ran in it) is removed where it is
 * empty (rmdir refuses a cgroup with processes or children, so a sibling still running keeps it).
 */
export function dropOrphanedPodCgroup(core: RuntimeCore, rec: ContainerRecord): void {
  const pod = rec.nexcage.pod;
  const cgroup = pod?.["cgroup"];
  const sandbox = pod?.["sandbox"];
  if (typeof cgroup !== "string" || typeof sandbox !== "string" || !cgroup.startsWith("/") || cgroup === "/") return;
  let sandboxLives: boolean;
  try {
    sandboxLives = core.store.read(sandbox) !== undefined;
  } catch {
    sandboxLives = true; // unreadable: not ours to judge
  }
  if (sandboxLives) return;
  const dirs = containerCgroupDirs(readFileSync("/proc/self/mountinfo", "utf8"), readFileSync("/proc/self/cgroup", "utf8"), { id: rec.id, cgroupsPath: cgroup, base: "root" });
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      // busy (another container of the pod), or gone
    }
  }
}
