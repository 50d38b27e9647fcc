import { type ChildProcess, execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { childEnv, killLeftovers, privateConfig, removeCgroups, removeTree, startContainerd, stopContainerd } from "./containerd-daemon.js";
import { runToFiles } from "./helpers.js";

/**
 * A private containerd (Debian's 1.6.20) whose io.containerd.runc.v2 shim runs nexcage (or any
 * runc-compatible binary) as its "runc", for end-to-end tests through a real client.
 *
 * Everything lives in one temp dir: config, root, state, sockets, opt plugin dir, IO fifos, the
 * runtime's root and the image. Only containerd 1.6's shim sockets go elsewhere
 * (/run/containerd/s/), so /run/containerd is removed again by stop() if it was not there before.
 * No shell strings: every process gets an argv array (the one exception is `script -c`, which only
 * takes a command line: see ctr({ tty: true })).
 */

export const IMAGE = "docker.io/library/nexcage-bbox:latest";
export const BUSYBOX = "/bin/busybox";
export const CTR_TIMEOUT_MS = 90_000;

const NEXCAGE = join(import.meta.dirname, "..", "dist", "nexcage.mjs");
const RUN_CONTAINERD = "/run/containerd";
const TASKS = "io.containerd.runtime.v2.task";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** What the shim runs as its runc binary. */
export type RuntimeChoice =
  /** nexcage with this config (a document, written to a file, or a path) and this node. */
  | { nexcage: { config: Record<string, unknown> | string; node?: string; env?: Record<string, string> } }
  /** A runtime binary itself, e.g. /usr/sbin/runc, to check the tests against the reference. */
  | { binary: string };

export interface HarnessOptions {
  runtime: RuntimeChoice;
  /** containerd namespace (default: a unique nexcage-e2e-XXXX, also the cgroup parent). */
  namespace?: string;
}

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** runToFiles with the harness's environment and ctr's time limit. */
export function captured(file: string, argv: string[], opts: { dir: string; timeoutMs?: number; cwd?: string; env?: Record<string, string> }): Promise<Run> {
  return runToFiles(file, argv, { dir: opts.dir, cwd: opts.cwd, timeoutMs: opts.timeoutMs ?? CTR_TIMEOUT_MS, env: opts.env ?? childEnv() });
}

/** One argument for `sh -c`, single-quoted. */
function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

export interface ImageOptions {
  /** The image config's `config` (default: PATH, Cmd ["sh"], WorkingDir /). */
  config?: Record<string, unknown>;
  /** Fills the (empty) rootfs instead of busybox with its applet links and empty dirs. */
  populate?: (rootfs: string) => void;
}

/** busybox-static as /bin/busybox with a link per applet, plus the usual empty dirs. */
async function busyboxRootfs(rootfs: string): Promise<void> {
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  for (const d of ["proc", "sys", "dev", "etc", "tmp", "root"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, "bin", "busybox"));
  chmodSync(join(rootfs, "bin", "busybox"), 0o755);
  const applets = (await execFileP(BUSYBOX, ["--list"])).stdout.split("\n").filter((a) => a && a !== "busybox");
  for (const a of applets) symlinkSync("busybox", join(rootfs, "bin", a));
}

/**
 * An image as an OCI image layout tarball, built offline (by default from busybox-static) exactly
 * as run-containerd-client.sh does: one gzip layer, sorted, mtime 0, owner 0, gzip without
 * name/time: the same bytes, the same digests every time.
 */
export async function buildImage(dir: string, name = IMAGE, opts: ImageOptions = {}): Promise<string> {
  const rootfs = join(dir, "rootfs");
  const blobs = join(dir, "layout", "blobs", "sha256");
  mkdirSync(rootfs, { recursive: true });
  mkdirSync(blobs, { recursive: true });
  if (opts.populate) opts.populate(rootfs);
  else await busyboxRootfs(rootfs);
  const tarFlags = ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner"];
  const layerTar = join(dir, "layer.tar");
  await execFileP("tar", [...tarFlags, "-C", rootfs, "-cf", layerTar, "."]);
  const diffId = sha256(readFileSync(layerTar));
  await execFileP("gzip", ["-n", "-k", layerTar]);
  const blob = (data: Buffer | string) => {
    const digest = sha256(data);
    writeFileSync(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
  };
  const layer = blob(readFileSync(`${layerTar}.gz`));
  const config = blob(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: opts.config ?? { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"], WorkingDir: "/" },
      rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
    }),
  );
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
    }),
  );
  const layout = join(dir, "layout");
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": "latest" },
        },
      ],
    }),
  );
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const tarball = join(dir, "image-oci.tar");
  await execFileP("tar", [...tarFlags, "-C", layout, "-cf", tarball, "oci-layout", "index.json", "blobs"]);
  return tarball;
}



/**
 * Writes the executable a shim runs as its runc: `exec <runtime> "$@"`. A nexcage config given as
 * a document is written to configPath first.
 */
export function writeWrapper(path: string, rt: RuntimeChoice, configPath: string): void {
  let argv: string[];
  if ("binary" in rt) {
    argv = [rt.binary];
  } else {
    let config = rt.nexcage.config;
    if (typeof config !== "string") {
      writeFileSync(configPath, JSON.stringify(config));
      config = configPath;
    }
    // nexcage takes its global flags in any order before the command: --config goes first,
    // the shim's --root/--log/--log-format follow.
    const env = Object.entries(rt.nexcage.env ?? {}).map(([k, v]) => `${k}=${v}`);
    argv = [...(env.length > 0 ? ["/usr/bin/env", ...env] : []), rt.nexcage.node ?? process.execPath, NEXCAGE, "--config", config];
  }
  writeFileSync(path, `#!/bin/sh\nexec ${argv.map(shellQuote).join(" ")} "$@"\n`);
  chmodSync(path, 0o755);
}

export class ContainerdHarness {
  /** The temp dir holding everything. */
  readonly dir: string;
  readonly socket: string;
  readonly namespace: string;
  readonly image = IMAGE;
  /** The executable given to the shim as --runc-binary. */
  readonly wrapper: string;
  /** Given to ctr as --runc-root; the runtime gets `--root <runcRoot>/<namespace>`. */
  readonly runcRoot: string;
  /** The runtime's --root as the shim passes it. */
  readonly runtimeRoot: string;
  /** ctr's IO fifos (else /run/containerd/fifo). */
  readonly fifoDir: string;
  private readonly outputs: string;
  private readonly ids = new Set<string>();
  private containerd?: ChildProcess;
  private readonly runContainerdExisted = existsSync(RUN_CONTAINERD);

  private constructor(readonly options: HarnessOptions) {
    this.dir = mkdtempSync(join(tmpdir(), "nexcage-e2e-containerd-"));
    this.socket = join(this.dir, "containerd.sock");
    this.namespace = options.namespace ?? `nexcage-e2e-${randomBytes(4).toString("hex")}`;
    this.wrapper = join(this.dir, "bin", "runtime");
    this.runcRoot = join(this.dir, "runtime-root");
    this.runtimeRoot = join(this.runcRoot, this.namespace);
    this.fifoDir = join(this.dir, "fifo");
    this.outputs = join(this.dir, "out");
  }

  /** Starts containerd and imports the image; on any failure everything made so far is removed. */
  static async start(options: HarnessOptions): Promise<ContainerdHarness> {
    const h = new ContainerdHarness(options);
    try {
      await h.setUp();
    } catch (e) {
      await h.stop().catch(() => undefined);
      throw e;
    }
    return h;
  }

  private async setUp(): Promise<void> {
    for (const d of [this.outputs, join(this.dir, "bin"), this.runcRoot, this.fifoDir, join(this.dir, "root"), join(this.dir, "state"), join(this.dir, "opt")]) {
      mkdirSync(d, { recursive: true });
    }
    writeWrapper(this.wrapper, this.options.runtime, join(this.dir, "nexcage-config.json"));
    const tarball = await buildImage(join(this.dir, "image"));
    const config = join(this.dir, "config.toml");
    writeFileSync(config, [...privateConfig(this.dir, this.socket, { level: "debug", disabledPlugins: ["io.containerd.grpc.v1.cri"] }), ""].join("\n"));
    this.containerd = await startContainerd({
      argv: ["--config", config, "--root", join(this.dir, "root"), "--state", join(this.dir, "state"), "--address", this.socket],
      log: join(this.dir, "containerd.log"),
      ready: async () => (await this.ctr(["version"], { timeoutMs: 5_000 })).code === 0,
    });
    const imported = await this.ctr(["images", "import", tarball]);
    if (imported.code !== 0) throw new Error(`ctr images import failed (${imported.code}): ${imported.stderr}`);
  }

  /** The flags that make `ctr run` use the shim with this harness's runtime. */
  get runFlags(): string[] {
    return ["--runtime", "io.containerd.runc.v2", "--runc-binary", this.wrapper, "--runc-root", this.runcRoot, "--fifo-dir", this.fifoDir];
  }

  /** The shim's bundle dir of a task (config.json, init.pid, log.json while it lives). */
  bundle(id: string): string {
    return join(this.dir, "state", TASKS, this.namespace, id);
  }

  /** Remembers a container id for stop() to remove. */
  track(id: string): string {
    this.ids.add(id);
    return id;
  }

  /**
   * `ctr -a <socket> -n <namespace> ...args`, stdin /dev/null, output through files, 90 s limit.
   * With tty, ctr runs under `script -qec` so it has a terminal (-e: script exits with ctr's
   * status); its output then comes through the pty (CRLF line ends) on stdout.
   */
  async ctr(args: string[], opts: { tty?: boolean; timeoutMs?: number } = {}): Promise<Run> {
    const argv = ["-a", this.socket, "-n", this.namespace, ...args];
    if (!opts.tty) return captured("ctr", argv, { dir: this.outputs, timeoutMs: opts.timeoutMs });
    const line = ["ctr", ...argv].map(shellQuote).join(" ");
    return captured("script", ["-qec", line, "/dev/null"], { dir: this.outputs, timeoutMs: opts.timeoutMs });
  }

  /** `ctr run <runFlags> [flags] IMAGE id ...command`; the id is tracked for stop(). */
  run(id: string, command: string[], flags: string[] = [], opts: { tty?: boolean } = {}): Promise<Run> {
    this.track(id);
    return this.ctr(["run", ...this.runFlags, ...flags, this.image, id, ...command], opts);
  }

  /** `ctr task exec --fifo-dir ... [flags] --exec-id execId id ...command`. */
  exec(id: string, execId: string, command: string[], flags: string[] = [], opts: { tty?: boolean } = {}): Promise<Run> {
    return this.ctr(["task", "exec", "--fifo-dir", this.fifoDir, ...flags, "--exec-id", execId, id, ...command], opts);
  }

  /** The rows of `ctr task ls`: id → { pid, status }. */
  async tasks(): Promise<Map<string, { pid: number; status: string }>> {
    const r = await this.ctr(["task", "ls"]);
    if (r.code !== 0) throw new Error(`ctr task ls failed (${r.code}): ${r.stderr}`);
    const rows = new Map<string, { pid: number; status: string }>();
    for (const line of r.stdout.trim().split("\n").slice(1)) {
      const [id, pid, status] = line.trim().split(/\s+/);
      if (id) rows.set(id, { pid: Number(pid), status: status ?? "" });
    }
    return rows;
  }

  /** The runtime run directly (the wrapper) on the root the shim gives it: e.g. state. */
  runtime(args: string[], root = this.runtimeRoot): Promise<Run> {
    return captured(this.wrapper, ["--root", root, ...args], { dir: this.outputs, timeoutMs: CTR_TIMEOUT_MS });
  }

  /**
   * Removes every task and container (tracked or listed), stops containerd (SIGTERM, then SIGKILL
   * after 10 s), kills shims and container processes still left from this harness, unmounts what
   * is mounted below the temp dir (deepest first), removes it, the namespace's cgroups, and
   * /run/containerd if it was not there before. Does all of it, then throws if something was left.
   */
  async stop(): Promise<void> {
    const problems: string[] = [];
    const proc = this.containerd;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const listed = async (what: string[]) => {
        const r = await this.ctr([...what, "ls", "-q"], { timeoutMs: 15_000 });
        return r.code === 0 ? r.stdout.split("\n").filter(Boolean) : [];
      };
      const tasks = new Set([...this.ids, ...(await listed(["task"]))]);
      for (const id of tasks) {
        const t = (await this.tasks().catch(() => new Map())).get(id);
        if (!t) continue;
        if (t.status === "PAUSED") await this.ctr(["task", "resume", id], { timeoutMs: 15_000 });
        await this.ctr(["task", "kill", "-s", "SIGKILL", "--all", id], { timeoutMs: 15_000 });
        await this.ctr(["task", "kill", "-s", "SIGKILL", id], { timeoutMs: 15_000 });
        for (let i = 0; i < 50 && (await this.tasks().catch(() => new Map())).get(id)?.status !== "STOPPED"; i++) await sleep(100);
        if ((await this.ctr(["task", "delete", id], { timeoutMs: 30_000 })).code !== 0) {
          await this.ctr(["task", "delete", "--force", id], { timeoutMs: 30_000 });
        }
      }
      for (const id of new Set([...this.ids, ...(await listed(["container"]))])) {
        await this.ctr(["container", "delete", id], { timeoutMs: 30_000 });
      }
      const stillTasks = await listed(["task"]);
      if (stillTasks.length) problems.push(`tasks that could not be removed: ${stillTasks.join(" ")}`);
      const stillContainers = await listed(["container"]);
      if (stillContainers.length) problems.push(`containers that could not be removed: ${stillContainers.join(" ")}`);
    }
    await stopContainerd(proc, problems);
    killLeftovers(this.socket, this.namespace, problems);
    await removeTree(this.dir, problems);
    removeCgroups(this.namespace, problems);
    if (!this.runContainerdExisted && existsSync(RUN_CONTAINERD) && !existsSync(join(RUN_CONTAINERD, "containerd.sock"))) {
      rmSync(RUN_CONTAINERD, { recursive: true, force: true });
    }
    if (problems.length) throw new Error(`containerd harness cleanup:\n${problems.join("\n")}`);
  }
}
