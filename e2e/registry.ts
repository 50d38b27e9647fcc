import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { run } from "../src/exec/run.js";
import { BUSYBOX } from "./helpers.js";

/**
 * A private Docker registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1 and a free
 * port, with its own config and storage in `dir`, optionally with basic auth (htpasswd, bcrypt).
 * Stopped by pid.
 */
export class LocalRegistry {
  private child?: ChildProcess;
  port = 0;

  constructor(
    private readonly dir: string,
    private readonly auth?: { user: string; password: string },
  ) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort();
      const config = join(this.dir, `config-${this.port}.yml`);
      const lines = [
        "version: 0.1",
        "log:",
        "  level: error",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${join(this.dir, "data")}`,
        "  delete:",
        "    enabled: true",
        "http:",
        `  addr: 127.0.0.1:${this.port}`,
      ];
      if (this.auth) {
        const htpasswd = join(this.dir, "htpasswd");
        const h = await run("htpasswd", ["-nbB", this.auth.user, this.auth.password], { timeoutMs: 30_000 });
        if (h.exitCode !== 0) throw new Error(`htpasswd failed: ${h.stderr}`);
        writeFileSync(htpasswd, h.stdout.trim() + "\n");
        lines.push("auth:", "  htpasswd:", "    realm: nexcage-test", `    path: ${htpasswd}`);
      }
      writeFileSync(config, lines.join("\n") + "\n");
      const child = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      this.child = child;
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const ok = await fetch(`http://${this.host}/v2/`).then(
          (r) => r.status === 200 || r.status === 401,
          () => false,
        );
        if (ok) return;
        if (child.exitCode !== null) break;
        await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
      }
      await this.stop();
      if (!/address already in use/.test(stderr)) throw new Error(`docker-registry did not start: ${stderr}`);
    }
    throw new Error("docker-registry: no free port");
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.pid === undefined) return;
    const gone = new Promise<void>((r) => c.once("exit", () => r()));
    process.kill(c.pid, "SIGTERM");
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (c.exitCode === null && c.signalCode === null) process.kill(c.pid, "SIGKILL");
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

export interface ImageSpec {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  stopSignal?: string;
  /** Extra files: path inside the image → content. */
  files?: Record<string, string>;
}

const APPLETS = ["sh", "sleep", "echo", "cat", "env", "id", "pwd", "ls", "true", "mkdir", "hostname"];

async function must(file: string, args: string[]): Promise<string> {
  const r = await run(file, args, { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: ${r.stderr || r.spawnError?.message}`);
  return r.stdout;
}

/**
 * An OCI image layout built here with umoci from busybox-static (a rootfs with /bin/busybox, applet
 * links, /etc/passwd with an `app` user), with the given entrypoint, cmd, env, workdir and user.
 */
export async function buildImage(dir: string, tag: string, spec: ImageSpec): Promise<string> {
  const layout = join(dir, "layout");
  const bundle = join(dir, `bundle-${tag}`);
  await must("umoci", ["init", "--layout", layout]).catch(() => undefined);
  await must("umoci", ["new", "--image", `${layout}:${tag}`]);
  await must("umoci", ["unpack", "--image", `${layout}:${tag}`, bundle]);
  const rootfs = join(bundle, "rootfs");
  for (const d of ["bin", "etc", "tmp", "srv", "proc", "sys", "dev"]) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, "tmp"), 0o1777);
  copyFileSync(BUSYBOX, join(rootfs, "bin", "busybox"));
  chmodSync(join(rootfs, "bin", "busybox"), 0o755);
  for (const a of APPLETS) symlinkSync("busybox", join(rootfs, "bin", a));
  writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n");
  writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\napp:x:1000:\n");
  for (const [p, content] of Object.entries(spec.files ?? {})) {
    mkdirSync(join(rootfs, p, ".."), { recursive: true });
    writeFileSync(join(rootfs, p), content, { mode: 0o755 });
  }
  await must("umoci", ["repack", "--image", `${layout}:${tag}`, bundle]);
  const args = ["config", "--image", `${layout}:${tag}`];
  for (const e of spec.entrypoint ?? []) args.push("--config.entrypoint", e);
  for (const c of spec.cmd ?? []) args.push("--config.cmd", c);
  for (const e of spec.env ?? []) args.push("--config.env", e);
  if (spec.workdir) args.push("--config.workingdir", spec.workdir);
  if (spec.user) args.push("--config.user", spec.user);
  if (spec.stopSignal) args.push("--config.stopsignal", spec.stopSignal);
  await must("umoci", args);
  return layout;
}

/** Pushes `<layout>:<tag>` to the registry as `<repo>:<tag>`. */
export async function pushImage(layout: string, tag: string, registry: LocalRegistry, repo: string, creds?: { user: string; password: string }): Promise<void> {
  const args = ["copy", "--quiet", "--dest-tls-verify=false"];
  if (creds) args.push("--dest-creds", `${creds.user}:${creds.password}`);
  await must("skopeo", [...args, `oci:${layout}:${tag}`, `docker://${registry.host}/${repo}:${tag}`]);
}
