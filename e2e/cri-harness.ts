import { type ChildProcess, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildImage, captured, type Run, type RuntimeChoice, writeWrapper } from "./containerd-harness.js";
import { killLeftovers, privateConfig, removeCgroups, removeTree, startContainerd, stopContainerd } from "./containerd-daemon.js";
import { CriClient, type PodSandboxConfig } from "./cri/client.js";
import { rootEntries } from "./helpers.js";

/**
 * A private containerd (Debian's 1.6.20) with its CRI plugin enabled, for end-to-end tests through
 * the Kubernetes CRI (e2e/cri/client.ts) as a kubelet drives it. Two runtime handlers, both
 * io.containerd.runc.v2 shims whose "runc" is nexcage:
 *   - `runc` (the default, RuntimeClass-less pods): nexcage with the `runc` config (crun backend);
 *   - `nexcage-pct`: nexcage with the `pct` config, its shim root /run/nexcage-pct-<unique>, the
 *     root a routing rule can send to proxmox-lxc.
 * Offline: the pause (sandbox) and busybox images are built here and imported into the k8s.io
 * namespace; every registry name resolves to a closed port, so containerd can never pull.
 * Network: a private CNI bridge (unique name, no gateway, no NAT) with its own /24; netns are
 * mounted under the private state dir. No portmap plugin, so no iptables rules are made.
 * Cleanup (stop(), also after a failed start): every pod and container through the CRI, then
 * through ctr, containerd, its shims, the processes in the pods' cgroup parent, mounts, the
 * bridge, the temp dir, the pct root, and /run/containerd if it was not there before.
 */

export const DEFAULT_HANDLER = "runc";
export const PCT_HANDLER = "nexcage-pct";
export const PAUSE_IMAGE = "nexcage.test/pause:e2e";
export const BUSYBOX_IMAGE = "nexcage.test/busybox:e2e";

const NAMESPACE = "k8s.io";
const RUN_CONTAINERD = "/run/containerd";
const CRUN_CLI = { defaultBackend: "crun", backends: { crun: { driver: "cli" } } };
const execFileP = promisify(execFile);

export interface CriHarnessOptions {
  /** The default handler's runtime (default: nexcage, crun backend, cli driver). */
  runc?: RuntimeChoice;
  /** The nexcage-pct handler's runtime (default: as runc). */
  pct?: RuntimeChoice;
}

/** A /24 in 10.213.0.0/16 that no route on this host covers yet. */
async function freeSubnet(): Promise<string> {
  const routes = (await execFileP("ip", ["-4", "route", "show", "table", "all"])).stdout;
  for (let i = 0; i < 64; i++) {
    const third = randomBytes(1)[0]!;
    if (!routes.includes(`10.213.${third}.`)) return `10.213.${third}.0/24`;
  }
  throw new Error("no free 10.213.x.0/24 subnet for the CRI harness's bridge");
}

export class CriHarness {
  readonly dir: string;
  readonly socket: string;
  /** Unique per harness: the bridge (nxcri<hex>), the pods' cgroup parent, the pct root. */
  readonly unique = randomBytes(4).toString("hex");
  readonly bridge = `nxcri${this.unique}`;
  /** Every pod made through pod() runs below this cgroup (cgroupfs driver). */
  readonly cgroupParent = `/nexcage-e2e-cri-${this.unique}`;
  /** The shim's Root per handler; the runtime gets --root <Root>/k8s.io. */
  readonly roots: Readonly<Record<string, string>>;
  readonly logDir: string;
  subnet = "";
  client!: CriClient;
  private containerd?: ChildProcess;
  private readonly outputs: string;
  private readonly runContainerdExisted = existsSync(RUN_CONTAINERD);
  private ipForwardBefore?: string;

  private constructor(readonly options: CriHarnessOptions) {
    this.dir = mkdtempSync(join(tmpdir(), "nexcage-e2e-cri-"));
    this.socket = join(this.dir, "containerd.sock");
    this.outputs = join(this.dir, "out");
    this.logDir = join(this.dir, "pod-logs");
    this.roots = { [DEFAULT_HANDLER]: join(this.dir, "runtime-root"), [PCT_HANDLER]: `/run/nexcage-pct-${this.unique}` };
  }

  /** Starts containerd, imports the images; on any failure removes everything made so far and throws. */
  static async start(options: CriHarnessOptions = {}): Promise<CriHarness> {
    const h = new CriHarness(options);
    try {
      await h.setUp();
    } catch (e) {
      await h.stop().catch((err: Error) => process.stderr.write(`${err.message}\n`));
      throw e;
    }
    return h;
  }

  /** The runtime's --root for a handler's containers (where nexcage keeps their records). */
  runtimeRoot(handler: string): string {
    return join(this.roots[handler]!, NAMESPACE);
  }

  /** The container records in a handler's runtime root (empty when no container of it is left). */
  records(handler: string): string[] {
    return rootEntries(this.runtimeRoot(handler));
  }

  /** A pod config in this harness: its metadata, its log dir (made here), its cgroup parent. */
  pod(name: string, extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
    const uid = `${name}-${this.unique}`;
    const logDirectory = join(this.logDir, uid);
    mkdirSync(logDirectory, { recursive: true });
    return {
      metadata: { name, uid, namespace: "nexcage-e2e", attempt: 0 },
      hostname: name,
      logDirectory,
      ...extra,
      linux: { cgroupParent: this.cgroupParent, ...extra.linux },
    };
  }

  containerdLog(): string {
    try {
      return readFileSync(join(this.dir, "containerd.log"), "utf8");
    } catch {
      return "";
    }
  }

  /** `ctr -a <socket> -n k8s.io ...args`. */
  ctr(args: string[], timeoutMs = 90_000): Promise<Run> {
    return captured("ctr", ["-a", this.socket, "-n", NAMESPACE, ...args], { dir: this.outputs, timeoutMs });
  }

  private async setUp(): Promise<void> {
    for (const d of [this.outputs, this.logDir, join(this.dir, "bin"), join(this.dir, "root"), join(this.dir, "state"), join(this.dir, "opt"), join(this.dir, "cni", "net.d"), join(this.dir, "cni", "ipam"), join(this.dir, "certs.d", "nexcage.test"), ...Object.values(this.roots)]) {
      mkdirSync(d, { recursive: true });
    }
    this.ipForwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    this.subnet = await freeSubnet();
    const runc = this.options.runc ?? { nexcage: { config: CRUN_CLI } };
    const wrappers = { [DEFAULT_HANDLER]: join(this.dir, "bin", "runtime-runc"), [PCT_HANDLER]: join(this.dir, "bin", "runtime-pct") };
    writeWrapper(wrappers[DEFAULT_HANDLER], runc, join(this.dir, "nexcage-runc.json"));
    writeWrapper(wrappers[PCT_HANDLER], this.options.pct ?? runc, join(this.dir, "nexcage-pct.json"));
    const images = await this.buildImages();
    // any pull of a nexcage.test image goes to a closed port: fails at once, never leaves the host
    writeFileSync(join(this.dir, "certs.d", "nexcage.test", "hosts.toml"), 'server = "http://127.0.0.1:9"\n[host."http://127.0.0.1:9"]\n  capabilities = ["pull", "resolve"]\n');
    writeFileSync(
      join(this.dir, "cni", "net.d", "10-nexcage-e2e.conflist"),
      JSON.stringify({
        cniVersion: "0.4.0",
        name: `nexcage-e2e-${this.unique}`,
        plugins: [
          {
            type: "bridge",
            bridge: this.bridge,
            isGateway: false,
            ipMasq: false,
            hairpinMode: true,
            ipam: { type: "host-local", ranges: [[{ subnet: this.subnet }]], dataDir: join(this.dir, "cni", "ipam") },
          },
        ],
      }),
    );
    const config = join(this.dir, "config.toml");
    writeFileSync(config, this.configToml(wrappers));
    this.containerd = await startContainerd({
      argv: ["--config", config],
      log: join(this.dir, "containerd.log"),
      ready: async () => (await this.ctr(["version"], 5_000)).code === 0,
    });
    for (const tarball of images) {
      const r = await this.ctr(["images", "import", tarball]);
      if (r.code !== 0) throw new Error(`ctr images import ${tarball} failed (${r.code}): ${r.stderr}`);
    }
    this.client = new CriClient(this.socket);
    // the CRI learns of imported images from containerd's events: wait until it has both
    for (const image of [PAUSE_IMAGE, BUSYBOX_IMAGE]) {
      let seen = false;
      for (let i = 0; i < 50 && !seen; i++) {
        seen = (await this.client.imageStatus(image)) !== null;
        if (!seen) await new Promise((r) => setTimeout(r, 100));
      }
      if (!seen) throw new Error(`the CRI does not see the imported image ${image}`);
    }
  }

  private configToml(wrappers: Record<string, string>): string {
    const q = (s: string) => JSON.stringify(s);
    const cri = 'plugins."io.containerd.grpc.v1.cri"';
    const handler = (name: string) => [
      `  [${cri}.containerd.runtimes.${q(name)}]`,
      '    runtime_type = "io.containerd.runc.v2"',
      `  [${cri}.containerd.runtimes.${q(name)}.options]`,
      `    BinaryName = ${q(wrappers[name]!)}`,
      `    Root = ${q(this.roots[name]!)}`,
      "    SystemdCgroup = false",
    ];
    return [
      ...privateConfig(this.dir, this.socket, { level: "info" }),
      `[${cri}]`,
      `  sandbox_image = ${q(PAUSE_IMAGE)}`,
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      "  enable_selinux = false",
      // root here may lack CAP_SYS_RESOURCE: CRI asks oom_score_adj -998 for every sandbox and
      // lowering it below containerd's own then fails. Clamp to containerd's, as rootless setups do.
      "  restrict_oom_score_adj = true",
      // the pods' netns under the private state dir, not /var/run/netns
      "  netns_mounts_under_state_dir = true",
      `  [${cri}.containerd]`,
      '    snapshotter = "overlayfs"',
      `    default_runtime_name = ${q(DEFAULT_HANDLER)}`,
      ...handler(DEFAULT_HANDLER),
      ...handler(PCT_HANDLER),
      `  [${cri}.cni]`,
      '    bin_dir = "/usr/lib/cni"',
      `    conf_dir = ${q(join(this.dir, "cni", "net.d"))}`,
      "    max_conf_num = 1",
      `  [${cri}.registry]`,
      `    config_path = ${q(join(this.dir, "certs.d"))}`,
      "",
    ].join("\n");
  }

  /** The pause image (static C, e2e/cri/pause.c) and the busybox image, as OCI archives. */
  private async buildImages(): Promise<string[]> {
    const pauseBin = join(this.dir, "images", "pause-bin");
    mkdirSync(join(this.dir, "images"), { recursive: true });
    await execFileP("gcc", ["-static", "-Os", "-o", pauseBin, join(import.meta.dirname, "cri", "pause.c")]);
    const pause = await buildImage(join(this.dir, "images", "pause"), PAUSE_IMAGE, {
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Entrypoint: ["/pause"], WorkingDir: "/" },
      populate: (rootfs) => {
        copyFileSync(pauseBin, join(rootfs, "pause"));
        chmodSync(join(rootfs, "pause"), 0o755);
      },
    });
    const busybox = await buildImage(join(this.dir, "images", "busybox"), BUSYBOX_IMAGE);
    return [pause, busybox];
  }

  /**
   * Removes every pod (and so its containers) through the CRI, then whatever ctr still lists,
   * stops containerd, kills its leftover shims and the processes in the pods' cgroup parent,
   * unmounts and removes the temp dir (netns included), deletes the bridge, restores
   * ip_forward if the bridge plugin turned it on, and removes the pct root and /run/containerd
   * if they are empty or were not there. Does all of it, then throws if something was left.
   */
  async stop(): Promise<void> {
    const problems: string[] = [];
    const proc = this.containerd;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      if (this.client) {
        const pods = await this.client.listPodSandbox().catch((e: Error) => (problems.push(`ListPodSandbox: ${e.message}`), []));
        for (const p of pods) {
          await this.client.stopPodSandbox(p.id).catch((e: Error) => problems.push(`pod ${p.id}: ${e.message}`));
          await this.client.removePodSandbox(p.id).catch((e: Error) => problems.push(`pod ${p.id}: ${e.message}`));
        }
      }
      const listed = async (what: string) => {
        const r = await this.ctr([what, "ls", "-q"], 15_000);
        return r.code === 0 ? r.stdout.split("\n").filter(Boolean) : [];
      };
      for (const id of await listed("tasks")) {
        problems.push(`task ${id} was left after the pods were removed`);
        await this.ctr(["tasks", "kill", "-s", "SIGKILL", "--all", id], 15_000);
        await this.ctr(["tasks", "delete", "--force", id], 30_000);
      }
      for (const id of await listed("containers")) {
        problems.push(`container ${id} was left after the pods were removed`);
        await this.ctr(["containers", "delete", id], 30_000);
      }
    }
    this.client?.close();
    await stopContainerd(proc, problems);
    killLeftovers(this.socket, this.cgroupParent.slice(1), problems);
    await removeTree(this.dir, problems);
    removeCgroups(this.cgroupParent.slice(1), problems);
    if ((await execFileP("ip", ["link", "show", this.bridge]).then(() => true, () => false))) {
      await execFileP("ip", ["link", "del", this.bridge]).catch((e: Error) => problems.push(`bridge ${this.bridge}: ${e.message}`));
    }
    if (this.ipForwardBefore === "0" && readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1") {
      writeFileSync("/proc/sys/net/ipv4/ip_forward", "0");
    }
    const pctRoot = this.roots[PCT_HANDLER]!;
    const left = [...rootEntries(pctRoot).filter((e) => e !== NAMESPACE), ...this.records(PCT_HANDLER).map((e) => join(NAMESPACE, e))];
    if (left.length) problems.push(`${pctRoot} kept, records left: ${left.join(" ")}`);
    else rmSync(pctRoot, { recursive: true, force: true });
    if (!this.runContainerdExisted && existsSync(RUN_CONTAINERD) && !existsSync(join(RUN_CONTAINERD, "containerd.sock"))) {
      rmSync(RUN_CONTAINERD, { recursive: true, force: true });
    }
    if (problems.length) throw new Error(`CRI harness cleanup:\n${problems.join("\n")}`);
  }
}
