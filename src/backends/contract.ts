import type { Config } from "../config/schema.js";
import type { Logger } from "../log.js";
import type { BackendName, Status } from "../names.js";
import type { Bundle } from "../oci/bundle.js";
import type { Signal } from "../oci/signals.js";

// The backend contract: types only. A backend imports this file and its own tools, never the
// runtime, the store or another backend; the runtime builds a Handle from its record and passes it.

/** A backend's own reference to its container (state root, VMID, ...), kept in the record as JSON. */
export type AnyRef = object;

/** What the runtime tells a backend about one of its containers; built from the record. */
export interface Handle<Ref extends AnyRef = AnyRef> {
  readonly id: string;
  /** The container's own directory under the nexcage root (<root>/<id>). */
  readonly dir: string;
  /** The recorded status (the live one comes from probe). */
  readonly status: Status;
  /** Host pid of the init as recorded; 0 when none is known. */
  readonly pid: number;
  /** /proc/<pid>/stat start time of that init, when recorded. */
  readonly pidStartTime?: string;
  /** What this backend returned from create. Read from disk: a backend checks what it needs before use. */
  readonly ref: Ref;
}

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
   * create --image for a backend whose descriptor says `can.templateVolumes`: the image as a storage
   * volume its tool reads itself (a rootfs template, or an OCI archive the tool maps when `oci`);
   * the bundle's rootfs is then empty.
   */
  readonly volume?: { readonly volid: string; readonly oci: boolean };
}

export interface Created<Ref extends AnyRef = AnyRef> {
  /** What the backend needs to find the container again. */
  readonly ref: Ref;
  /** Host pid of the container's init (0: a guest whose init exists only once started). */
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

/**
 * Where the containers of a Kubernetes pod go whose sandbox is this backend's container (the
 * runtime creates them with the host's runtime, crun, in these namespaces and this cgroup).
 */
export interface MemberPlacement {
  /** The pid the sandbox's caller got in its --pid-file: the members' specs name its /proc/<pid>/ns/*. */
  readonly pidFilePid: number;
  /** The host pid whose namespaces the members join instead. */
  readonly pid: number;
  /** Absolute cgroupfs path the members' cgroups go under (the sandbox's resources count them). */
  readonly cgroupParent: string;
  /** What the member's record notes about where it runs (e.g. the VMID). */
  readonly note: Readonly<Record<string, string | number>>;
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

export interface HealthReport {
  readonly backend: BackendName;
  readonly ok: boolean;
  readonly details: readonly string[];
}

/**
 * A backend turns lifecycle operations into its own tool's calls. It never touches nexcage
 * records: the runtime owns them and holds the id's lock around every call here.
 */
export interface Backend<Ref extends AnyRef = AnyRef> {
  readonly name: BackendName;
  /**
   * create forks this very process (libcrun): the child inherits every open descriptor until it
   * execs, so the runtime must not hold the id's lock across the call.
   */
  readonly forksCaller?: boolean;
  create(req: CreateRequest): Promise<Created<Ref>>;
  /** Starts the process; a backend whose init only exists from now on returns its host pid. */
  start(h: Handle<Ref>): Promise<void | { pid: number }>;
  kill(h: Handle<Ref>, signal: Signal, all: boolean): Promise<void>;
  /** Removes the backend's container. With force, also a running one; a missing one is not an error. */
  delete(h: Handle<Ref>, force: boolean): Promise<void>;
  /**
   * Removes whatever a failed or crashed create may have left under `dir` and on the host, without
   * a record. `bundle`: the bundle it was created from, when the `creating` record names it.
   */
  purge(id: string, dir: string, bundle?: string): Promise<void>;
  /**
   * The live truth about status and pid. Absent when the descriptor says `initIsHostProcess`:
   * the runtime reads that from /proc itself (probe.ts).
   */
  probe?(h: Handle<Ref>): Promise<Probe>;
  /**
   * create + start, waiting in the foreground for the process and returning its exit code.
   * `onStarted` is called once the init's pid is known, so the runtime can publish the record.
   */
  run?(req: CreateRequest, onStarted: (created: Created<Ref>) => Promise<void>): Promise<ExitCode>;
  /** Runs a process in the container; returns its exit code (0 for --detach once it started). */
  exec?(h: Handle<Ref>, req: ExecRequest): Promise<ExitCode>;
  /** Host pids of the container's processes. */
  ps?(h: Handle<Ref>): Promise<number[]>;
  /**
   * For `ps` in table format when the processes are not host processes (a VM's guest): ps(1) run
   * where they are, with `psOptions`, unfiltered, and the container's pids there. Absent: the host's ps.
   */
  psTable?(h: Handle<Ref>, psOptions: readonly string[]): Promise<{ pids: number[]; text: string }>;
  pause?(h: Handle<Ref>): Promise<void>;
  resume?(h: Handle<Ref>): Promise<void>;
  /** Resource update: runc's update flags, already validated, and `-r -` reads our stdin. */
  update?(h: Handle<Ref>, flags: readonly string[]): Promise<void>;
  /** Where the members of a pod go whose (running) sandbox is `sandbox`; absent: members are this backend's own containers. */
  memberPlacement?(sandbox: Handle<Ref>): Promise<MemberPlacement>;
  /** Versions and availability of the backend's tools, for `health`. */
  health(): Promise<HealthReport>;
}

/** The optional operations, which a backend's descriptor lists under `can`. */
export type Capability = "run" | "exec" | "ps" | "pause" | "resume" | "update";
