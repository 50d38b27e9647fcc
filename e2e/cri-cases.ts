import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_IMAGE, CriHarness, type CriHarnessOptions } from "./cri-harness.js";
import type { ContainerConfig, ContainerStatus, PodSandboxConfig } from "./cri/client.js";

/**
 * The CRI walk-through of issue 18 as vitest cases, for one runtime handler: a pod, two
 * containers in it that talk over localhost, ExecSync, logs, exit codes, the pod's hostname, and
 * a stop/remove that leaves nothing. The cases of one registration share one pod and run in order.
 * Registered by e2e/cri.test.ts for the default handler; call it again with another handler (and
 * the pod config it needs) to run the same walk-through on another backend.
 */

export interface CriCaseOptions {
  /** Shown in the describe title. */
  name: string;
  /** The runtime_handler for RunPodSandbox ("" = containerd's default). */
  handler: string;
  /** Which handler's runtime root holds the records ("" resolves to the default's). */
  rootHandler: string;
  /** The harness, started by the caller (beforeAll) and stopped by it. */
  harness: () => CriHarness;
  /** Merged into the pod config (labels, annotations, ...). */
  pod?: Partial<PodSandboxConfig>;
}

/**
 * Starts a CriHarness before the cases of the enclosing describe (or file) and stops it after
 * them; returns its getter (which throws if the start failed).
 */
export function useCriHarness(options: CriHarnessOptions = {}): () => CriHarness {
  let harness: CriHarness | undefined;
  beforeAll(async () => {
    harness = await CriHarness.start(options);
  }, 120_000);
  afterAll(() => harness?.stop(), 120_000);
  return () => {
    if (!harness) throw new Error("the CRI harness did not start");
    return harness;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until check() returns a value (not undefined), up to 30 s; then throws with the last state. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, last: () => Promise<unknown>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`${what} did not happen in 30 s; last: ${JSON.stringify(await last())}`);
}

/** The lines of a CRI log file: `<RFC3339Nano> <stream> <P|F> <text>`. */
function logLines(path: string): { stream: string; text: string }[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const m = /^\S+ (stdout|stderr) [PF] (.*)$/.exec(l);
      if (!m) throw new Error(`not a CRI log line: ${l}`);
      return { stream: m[1]!, text: m[2]! };
    });
}

export function registerCriCases(opts: CriCaseOptions): void {
  describe(`CRI walk-through: ${opts.name}`, { sequential: true }, () => {
    const podName = `walk-${opts.handler || "default"}`;
    let pod = "";
    let sandboxConfig: PodSandboxConfig;
    let netns = "";
    const h = () => opts.harness();
    const client = () => opts.harness().client;

    afterAll(async () => {
      if (!pod) return;
      await client().stopPodSandbox(pod).catch(() => undefined);
      await client().removePodSandbox(pod).catch(() => undefined);
    });

    const container = async (name: string, command: string[], extra: Partial<ContainerConfig> = {}) => {
      const id = await client().createContainer(pod, { metadata: { name }, image: { image: BUSYBOX_IMAGE }, command, logPath: `${name}.log`, ...extra }, sandboxConfig);
      await client().startContainer(id);
      return id;
    };
    const exited = (id: string) =>
      waitFor<ContainerStatus>(
        `container ${id} exiting`,
        async () => {
          const s = await client().containerStatus(id);
          return s.state === "CONTAINER_EXITED" ? s : undefined;
        },
        () => client().containerStatus(id),
      );

    it("RunPodSandbox: the pod is ready, on its handler, with an IP of the private subnet, and its sandbox has a record in the runtime root", async () => {
      sandboxConfig = h().pod(podName, opts.pod);
      pod = await client().runPodSandbox(sandboxConfig, opts.handler);
      const { status, info } = await client().podSandboxStatus(pod, true);
      expect(status.state).toBe("SANDBOX_READY");
      expect(status.metadata.name).toBe(podName);
      expect(status.runtimeHandler).toBe(opts.handler);
      const prefix = h().subnet.replace(/\.0\/24$/, ".");
      expect(status.network?.ip.startsWith(prefix), `${status.network?.ip} in ${h().subnet}`).toBe(true);
      // containerd's verbose info: its record of the sandbox, with the spec it gave the runtime
      const record = JSON.parse(info["info"]!) as { runtimeSpec: { linux: { namespaces: { type: string; path?: string }[] } } };
      netns = record.runtimeSpec.linux.namespaces.find((n) => n.type === "network")?.path ?? "";
      expect(netns.startsWith(join(h().dir, "state")), netns).toBe(true);
      expect(existsSync(netns), netns).toBe(true);
      expect(h().records(opts.rootHandler)).toContain(pod);
    });

    it("two containers of the pod talk over localhost (busybox httpd, wget through ExecSync)", async () => {
      const server = await container("server", ["sh", "-c", `mkdir -p /www && echo hello from ${podName} > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www`]);
      const fetcher = await container("fetcher", ["sleep", "3600"]);
      const listed = await client().listContainers({ podSandboxId: pod });
      expect(listed.map((c) => [c.id, c.state]).sort()).toEqual([[fetcher, "CONTAINER_RUNNING"], [server, "CONTAINER_RUNNING"]].sort());
      // the server may not listen yet when it was just started: poll until wget gets an answer
      const got = await waitFor(
        "an answer from httpd",
        async () => {
          const r = await client().execSync(fetcher, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], 10);
          return r.exitCode === 0 ? r : undefined;
        },
        async () => {
          const r = await client().execSync(fetcher, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], 10);
          return { exitCode: r.exitCode, stderr: r.stderr.toString() };
        },
      );
      expect(got.stdout.toString()).toBe(`hello from ${podName}\n`);
    });

    it("ExecSync returns the command's stdout, stderr and exit code", async () => {
      const [fetcher] = (await client().listContainers({ podSandboxId: pod })).filter((c) => c.metadata.name === "fetcher");
      const r = await client().execSync(fetcher!.id, ["sh", "-c", "echo to-out; echo to-err >&2; exit 7"], 10);
      expect({ stdout: r.stdout.toString(), stderr: r.stderr.toString(), exitCode: r.exitCode }).toEqual({ stdout: "to-out\n", stderr: "to-err\n", exitCode: 7 });
    });

    it("the containers see the pod's hostname", async () => {
      const [fetcher] = (await client().listContainers({ podSandboxId: pod })).filter((c) => c.metadata.name === "fetcher");
      const r = await client().execSync(fetcher!.id, ["sh", "-c", "hostname; cat /etc/hostname"], 10);
      expect(r.stdout.toString()).toBe(`${podName}\n${podName}\n`);
    });

    it("a container's stdout and stderr are in its log file, in the CRI log format; exit 0 is Completed", async () => {
      const id = await container("logger", ["sh", "-c", "echo line-one; echo line-two >&2; echo line-three"]);
      const s = await exited(id);
      expect({ exitCode: s.exitCode, reason: s.reason }).toEqual({ exitCode: 0, reason: "Completed" });
      expect(s.logPath).toBe(join(sandboxConfig.logDirectory!, "logger.log"));
      const lines = logLines(s.logPath);
      expect(lines.filter((l) => l.stream === "stdout").map((l) => l.text)).toEqual(["line-one", "line-three"]);
      expect(lines.filter((l) => l.stream === "stderr").map((l) => l.text)).toEqual(["line-two"]);
    });

    it("a container that exits 3 is reported EXITED with exitCode 3 (reason Error)", async () => {
      const id = await container("exit3", ["sh", "-c", "exit 3"]);
      const s = await exited(id);
      expect({ state: s.state, exitCode: s.exitCode, reason: s.reason }).toEqual({ state: "CONTAINER_EXITED", exitCode: 3, reason: "Error" });
      // no finishedAt >= startedAt: containerd takes startedAt after the start call returns,
      // and `exit 3` may be over by then
      expect(s.finishedAt).toBeGreaterThan(s.createdAt);
    });

    it("StopContainer stops a running container with SIGTERM (exit 143); RemoveContainer removes it and its record", async () => {
      const [server] = (await client().listContainers({ podSandboxId: pod })).filter((c) => c.metadata.name === "server");
      await client().stopContainer(server!.id, 10);
      const s = await client().containerStatus(server!.id);
      expect({ state: s.state, exitCode: s.exitCode }).toEqual({ state: "CONTAINER_EXITED", exitCode: 143 });
      await client().removeContainer(server!.id);
      expect((await client().listContainers({ podSandboxId: pod })).map((c) => c.id)).not.toContain(server!.id);
      expect(h().records(opts.rootHandler)).not.toContain(server!.id);
    });

    it("StopPodSandbox + RemovePodSandbox leave no sandbox, container, record or netns", async () => {
      await client().stopPodSandbox(pod);
      expect((await client().podSandboxStatus(pod)).status.state).toBe("SANDBOX_NOTREADY");
      expect(existsSync(netns), `${netns} after StopPodSandbox`).toBe(false);
      await client().removePodSandbox(pod);
      expect(await client().listPodSandbox({ id: pod })).toEqual([]);
      expect(await client().listContainers({ podSandboxId: pod })).toEqual([]);
      expect(h().records(opts.rootHandler)).toEqual([]);
      const tasks = await h().ctr(["tasks", "ls", "-q"]);
      expect(tasks.stdout.trim()).toBe("");
      pod = "";
    });
  });
}
