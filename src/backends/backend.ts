import type { BackendName, Config } from "../config/schema.js";
import type { Bundle } from "../oci/bundle.js";
import type { Signal } from "../oci/signals.js";
import type { Status } from "../runtime/status.js";
import type { ContainerRecord } from "../state/record.js";
import type { Logger } from "../log.js";
import { probeOciContainer } from "./probe.js";

export interface CreateRequest {
  readonly id: string;
  readonly bundle: Bundle;
  /** The container's own directory under the nexcage root; the backend may keep its state here. */
  readonly dir: string;
  /** Absolute path; the backend writes the init's pid there, as runc does (no newline). */
  readonly pidFile: string;
  /** --pid-file was given: the caller reaps the pid it gets there (containerd's shim). */
  readonly pidFileGiven?: boolean;
  readonly consoleSocket?: string;
  readonly noPivot: boolean;
  readonly noNewKeyring: boolean;
  readonly preserveFds: number;
  /**
   * A template volume to create the container from (create --image): a rootfs template, or an OCI
   * archive Proxmox maps itself (`oci`); the bundle's rootfs is then empty.
   */
  readonly template?: { readonly volid: string; readonly oci: boolean };
}

export interface Created {
  /** What the backend needs to find the container again. */
  readonly ref: Record<string, unknown>;
  /** Host pid of the container's init. */
  readonly pid: number;
}

export interface Probe {
  readonly status: Status;
  readonly pid: number;
}

/** What `exec` asks for; paths are absolute. Flags mirror runc's exec. */
export interface ExecRequest {
  readonly processFile?: string;
  readonly args: readonly string[];
  readonly detach: boolean;
  readonly pidFile?: string;
  readonly consoleSocket?: string;
  readonly tty: boolean;
  readonly cwd?: string;
  readonly env: readonly string[];
  readonly user?: string;
  readonly additionalGids: readonly string[];
  readonly noNewPrivs: boolean;
  readonly caps: readonly string[];
  readonly preserveFds: number;
  readonly processLabel?: string;
  readonly apparmor?: string;
  readonly cgroup?: string;
  readonly ignorePaused: boolean;
}

/** Process exit code of a foreground run. */
export type ExitCode = number;

/** Global settings every backend may need from the command line. */
export interface BackendContext {
  readonly config: Config;
  readonly log: Logger;
  readonly systemdCgroup: boolean;
  readonly debug: boolean;
}

/**
 * A backend turns lifecycle operations into its own tool's calls. It never touches nexcage
 * records: the runtime owns them and holds the id's lock around every call here.
 */
export interface Backend {
  readonly name: BackendName;
  /**
   * create forks this very process (libcrun): the child inherits every open descriptor until it
   * execs, so the runtime must not hold the id's lock socket across the call.
   */
  readonly forksCaller?: boolean;
  create(req: CreateRequest): Promise<Created>;
  /** Starts the process; a backend whose init only exists from now on returns its host pid. */
  start(rec: ContainerRecord): Promise<void | { pid: number }>;
  kill(rec: ContainerRecord, signal: Signal, all: boolean): Promise<void>;
  /** Removes the backend's container. With force, also a running one; a missing one is not an error. */
  delete(rec: ContainerRecord, force: boolean): Promise<void>;
  /** Removes whatever a crashed create may have left under `dir`, without a record. */
  purge(id: string, dir: string): Promise<void>;
  /** The live truth about status and pid. */
  probe(rec: ContainerRecord): Promise<Probe>;
  /**
   * create + start, waiting in the foreground for the process and returning its exit code.
   * `onStarted` is called once the init's pid is known, so the runtime can publish the record.
   */
  run?(req: CreateRequest, onStarted: (created: Created) => Promise<void>): Promise<ExitCode>;
  /** Runs a process in the container; returns its exit code (0 for --detach once it started). */
  exec?(rec: ContainerRecord, req: ExecRequest): Promise<ExitCode>;
  /** Host pids of the container's processes. */
  ps?(rec: ContainerRecord): Promise<number[]>;
  pause?(rec: ContainerRecord): Promise<void>;
  resume?(rec: ContainerRecord): Promise<void>;
  /** Resource update: runc's update flags, already validated, and `-r -` reads our stdin. */
  update?(rec: ContainerRecord, flags: readonly string[]): Promise<void>;
  /** Versions and availability of the backend's tools, for `health`. */
  health(): Promise<HealthReport>;
}

export interface HealthReport {
  readonly backend: BackendName;
  readonly ok: boolean;
  readonly details: readonly string[];
}

type Loader = (ctx: BackendContext) => Promise<Backend>;

/** name → lazy import, so a call loads only the backend it uses. */
const REGISTRY: Readonly<Record<BackendName, Loader>> = {
  crun: async (ctx) => (await import("./crun/index.js")).createCrunBackend(ctx),
  runc: async (ctx) => (await import("./runc/index.js")).createRuncBackend(ctx),
  "proxmox-lxc": async (ctx) => (await import("./proxmox-lxc/index.js")).createProxmoxLxcBackend(ctx),
  "proxmox-vm": async (ctx) => (await import("./proxmox-vm/index.js")).createProxmoxVmBackend(ctx),
};

export function loadBackend(name: BackendName, ctx: BackendContext): Promise<Backend> {
  return REGISTRY[name](ctx);
}

/**
 * Backends whose container init is a host process: their probe is one read of /proc and a look at
 * the exec fifo (probe.ts), whichever driver they use, so a status is known without loading the
 * backend or reading the config. OciCliBackend.probe is the same function.
 */
const HOST_PROCESS_BACKENDS: ReadonlySet<BackendName> = new Set<BackendName>(["crun", "runc"]);

/** The live status when it needs no backend (crun, runc); undefined for the others. */
export function hostProcessProbe(rec: ContainerRecord): Probe | undefined {
  return HOST_PROCESS_BACKENDS.has(rec.nexcage.backend) ? probeOciContainer(rec) : undefined;
}

/**
 * Pure: whether `kill` signals a crun or runc container's init itself instead of running the
 * runtime's kill. That kill is one kill(2) of the init (runc's initProcess.signal, crun's
 * libcrun_kill_linux); nexcage has just checked, under the id's lock, that the recorded pid is that
 * init (its start time), so it sends the same signal and saves starting the runtime (about 5 ms
 * of a 20 ms call, docs/performance.md). `--all` (the whole cgroup) and a paused container (runc
 * thaws it for SIGKILL) still go through the runtime.
 */
export function signalsInitItself(rec: ContainerRecord, status: Status, all: boolean): boolean {
  return !all && HOST_PROCESS_BACKENDS.has(rec.nexcage.backend) && (status === "created" || status === "running") && rec.pid > 0;
}

