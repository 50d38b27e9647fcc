import type { BackendName, Status } from "../names.js";
import type { AnyRef, Backend, BackendContext, Capability, Handle, Probe } from "./contract.js";
import { probeOciContainer, type OciRef } from "./probe.js";

/**
 * What nexcage knows about a backend without loading it: the one place outside a backend's own
 * folder that names backends. Adding a backend is one folder and one entry here.
 */
export interface BackendDescriptor {
  readonly name: BackendName;
  /** Imports the backend's folder (lazily: a call loads only the backend it uses) and builds it. */
  readonly load: (ctx: BackendContext) => Promise<Backend>;
  /**
   * Files or directories the backend makes in <root>/<id>/ before it creates anything: finding one
   * in a directory without a record means a crashed create, and the backend's purge clears it.
   */
  readonly debris: readonly string[];
  /**
   * The directory under <root>/<id>/ where the backend's own runtime keeps its state, which its ref
   * names as `root` (crun, runc); a record whose ref names another is purged by `delete --force`.
   */
  readonly runtimeRoot?: string;
  /**
   * The container's init is a host process whose /proc entry and exec fifo tell its status
   * (probe.ts): `state` and `list` need neither the backend nor the config, and `kill` of a
   * created or running container signals the init itself (signalsInitItself).
   */
  readonly initIsHostProcess: boolean;
  /**
   * Its `start` of a created container is the exec fifo's write (crun, exec-fifo.ts): nexcage does
   * that itself when the container has no poststart hooks and no notify socket is set.
   */
  readonly startIsExecFifo: boolean;
  /**
   * Its `delete` of a stopped container is the removal of its cgroup and state (crun,
   * crun-stopped-delete.ts): nexcage does that itself when nothing else is to be done.
   */
  readonly deleteOfStoppedIsCgroupAndState: boolean;
  /** `health` checks it whatever the configuration routes to (the host's own runtimes). */
  readonly alwaysChecked: boolean;
  /** Optional operations it has (a missing one is refused with a one-line error). */
  readonly can: Readonly<Record<Capability, boolean>> & {
    /** create --image may hand it a template volume (CreateRequest.volume) instead of a bundle rootfs. */
    readonly templateVolumes: boolean;
  };
}

const OCI_CAN = { run: true, exec: true, ps: true, pause: true, resume: true, update: true, templateVolumes: false } as const;

export const REGISTRY: Readonly<Record<BackendName, BackendDescriptor>> = {
  crun: {
    name: "crun",
    load: async (ctx) => (await import("./crun/index.js")).createCrunBackend(ctx),
    debris: ["crun"],
    runtimeRoot: "crun",
    initIsHostProcess: true,
    startIsExecFifo: true,
    deleteOfStoppedIsCgroupAndState: true,
    alwaysChecked: true,
    can: OCI_CAN,
  },
  runc: {
    name: "runc",
    load: async (ctx) => (await import("./runc/index.js")).createRuncBackend(ctx),
    debris: ["runc"],
    runtimeRoot: "runc",
    initIsHostProcess: true,
    startIsExecFifo: false,
    deleteOfStoppedIsCgroupAndState: false,
    alwaysChecked: true,
    can: OCI_CAN,
  },
  "proxmox-lxc": {
    name: "proxmox-lxc",
    load: async (ctx) => (await import("./proxmox-lxc/index.js")).createProxmoxLxcBackend(ctx),
    debris: ["proxmox-lxc.json"],
    initIsHostProcess: false,
    startIsExecFifo: false,
    deleteOfStoppedIsCgroupAndState: false,
    alwaysChecked: false,
    can: { run: false, exec: true, ps: true, pause: true, resume: true, update: true, templateVolumes: true },
  },
  "proxmox-vm": {
    name: "proxmox-vm",
    load: async (ctx) => (await import("./proxmox-vm/index.js")).createProxmoxVmBackend(ctx),
    debris: ["proxmox-vm.json"],
    initIsHostProcess: false,
    startIsExecFifo: false,
    deleteOfStoppedIsCgroupAndState: false,
    alwaysChecked: false,
    can: { run: true, exec: true, ps: true, pause: true, resume: true, update: false, templateVolumes: false },
  },
};

export function descriptor(name: BackendName): BackendDescriptor {
  return REGISTRY[name];
}

export function loadBackend(name: BackendName, ctx: BackendContext): Promise<Backend> {
  return REGISTRY[name].load(ctx);
}

/** The live status when it needs no backend (an init that is a host process); undefined for the others. */
export function hostProcessProbe(backend: BackendName, h: Handle<AnyRef>): Probe | undefined {
  return REGISTRY[backend].initIsHostProcess ? probeOciContainer(h as Handle<OciRef>) : undefined;
}

/**
 * Pure: whether `kill` signals a container's init itself instead of running the runtime's kill.
 * For crun and runc that kill is one kill(2) of the init (runc's initProcess.signal, crun's
 * libcrun_kill_linux); nexcage has just checked, under the id's lock, that the recorded pid is that
 * init (its start time), so it sends the same signal and saves starting the runtime (about 5 ms
 * of a 20 ms call, docs/performance.md). `--all` (the whole cgroup) and a paused container (runc
 * thaws it for SIGKILL) still go through the runtime.
 */
export function signalsInitItself(backend: BackendName, h: Pick<Handle, "pid">, status: Status, all: boolean): boolean {
  return !all && REGISTRY[backend].initIsHostProcess && (status === "created" || status === "running") && h.pid > 0;
}

/**
 * Pure: whether `run` in the foreground forwards its signals to the init's host pid. Otherwise they
 * go through the backend's kill, as `nexcage kill` sends them: a VM's pid is its QEMU, which a
 * SIGINT would end at once, where the backend's kill shuts the guest down.
 */
export function foregroundSignalsInit(backend: BackendName): boolean {
  return REGISTRY[backend].initIsHostProcess;
}

/** Pure: whether `start` may release a created container's init through its exec fifo itself (exec-fifo.ts). */
export function startsInitItself(backend: BackendName, status: Status): boolean {
  return REGISTRY[backend].startIsExecFifo && status === "created";
}

/** Pure: whether `delete` may remove a stopped container's cgroup and state itself (crun-stopped-delete.ts). */
export function deletesStoppedItself(backend: BackendName, status: Status): boolean {
  return REGISTRY[backend].deleteOfStoppedIsCgroupAndState && status === "stopped";
}
