import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join } from "node:path";

/**
 * A small Kubernetes CRI v1 client for the e2e tests: the kubelet's side of the calls
 * e2e/cri/api.proto declares, over gRPC on containerd's unix socket. Messages are plain objects
 * with camelCase field names (proto-loader's mapping of the proto's snake_case); enums are their
 * names, int64s are numbers, bytes are Buffers, and every field a reply leaves out has its default.
 */

const PROTO = join(import.meta.dirname, "api.proto");

type Msg = Record<string, unknown>;
type Labels = Record<string, string>;

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  /** Absolute; the containers' log_path is relative to it. */
  logDirectory?: string;
  dnsConfig?: { servers?: string[]; searches?: string[]; options?: string[] };
  labels?: Labels;
  annotations?: Labels;
  linux?: {
    cgroupParent?: string;
    securityContext?: { namespaceOptions?: { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode; targetId?: string }; privileged?: boolean };
    sysctls?: Labels;
  };
}

export type NamespaceMode = "POD" | "CONTAINER" | "NODE" | "TARGET";

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string };
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: { key: string; value: string }[];
  labels?: Labels;
  annotations?: Labels;
  logPath?: string;
  tty?: boolean;
}

export type ContainerState = "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";

export interface ContainerStatus {
  id: string;
  metadata: { name: string; attempt: number };
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: { image: string } | null;
  imageRef: string;
  reason: string;
  message: string;
  labels: Labels;
  annotations: Labels;
  logPath: string;
}

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: "SANDBOX_READY" | "SANDBOX_NOTREADY";
  createdAt: number;
  network: { ip: string; additionalIps: { ip: string }[] } | null;
  labels: Labels;
  annotations: Labels;
  runtimeHandler: string;
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxStatus["state"];
  labels: Labels;
  runtimeHandler: string;
}

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  state: ContainerState;
  labels: Labels;
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** What a failed call rejects with: the gRPC status code and details, and the method. */
export class CriError extends Error {
  constructor(
    readonly method: string,
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(`CRI ${method}: ${grpc.status[code] ?? code}: ${details}`);
  }
}

let definition: grpc.GrpcObject | undefined;

function services(): { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } {
  definition ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, objects: false, oneofs: false }),
  );
  const v1 = (definition["runtime"] as grpc.GrpcObject)["v1"] as grpc.GrpcObject;
  return { RuntimeService: v1["RuntimeService"] as grpc.ServiceClientConstructor, ImageService: v1["ImageService"] as grpc.ServiceClientConstructor };
}

export class CriClient {
  private readonly runtime: grpc.Client;
  private readonly images: grpc.Client;

  /** socket: the path of containerd's gRPC socket (dialled as unix://<socket>). */
  constructor(
    socket: string,
    /** The deadline of every call. */
    private readonly timeoutMs = 60_000,
  ) {
    const { RuntimeService, ImageService } = services();
    const target = `unix://${socket}`;
    this.runtime = new RuntimeService(target, grpc.credentials.createInsecure());
    this.images = new ImageService(target, grpc.credentials.createInsecure());
  }

  close(): void {
    this.runtime.close();
    this.images.close();
  }

  private call<T>(client: grpc.Client, method: string, request: Msg): Promise<T> {
    const fn = (client as unknown as Record<string, Function>)[method]!;
    return new Promise<T>((resolve, reject) => {
      fn.call(client, request, { deadline: Date.now() + this.timeoutMs }, (err: grpc.ServiceError | null, reply: T) => {
        if (err) reject(new CriError(method, err.code, err.details));
        else resolve(reply);
      });
    });
  }

  version(): Promise<{ version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }> {
    return this.call(this.runtime, "Version", { version: "v1" });
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ""): Promise<string> {
    return (await this.call<{ podSandboxId: string }>(this.runtime, "RunPodSandbox", { config, runtimeHandler })).podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, "StopPodSandbox", { podSandboxId });
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, "RemovePodSandbox", { podSandboxId });
  }

  /** With verbose, info.info is containerd's JSON record of the sandbox (pid, netns path, runtime). */
  podSandboxStatus(podSandboxId: string, verbose = false): Promise<{ status: PodSandboxStatus; info: Labels }> {
    return this.call(this.runtime, "PodSandboxStatus", { podSandboxId, verbose });
  }

  async listPodSandbox(filter: { id?: string; labelSelector?: Labels } = {}): Promise<PodSandbox[]> {
    return (await this.call<{ items: PodSandbox[] }>(this.runtime, "ListPodSandbox", { filter })).items;
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    return (await this.call<{ containerId: string }>(this.runtime, "CreateContainer", { podSandboxId, config, sandboxConfig })).containerId;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, "StartContainer", { containerId });
  }

  /** timeoutSeconds: SIGTERM, then SIGKILL after that long (0: SIGKILL at once). */
  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.call(this.runtime, "StopContainer", { containerId, timeout: timeoutSeconds });
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, "RemoveContainer", { containerId });
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    return (await this.call<{ status: ContainerStatus }>(this.runtime, "ContainerStatus", { containerId })).status;
  }

  async listContainers(filter: { id?: string; podSandboxId?: string; labelSelector?: Labels } = {}): Promise<Container[]> {
    return (await this.call<{ containers: Container[] }>(this.runtime, "ListContainers", { filter })).containers;
  }

  /** timeoutSeconds 0: no limit of containerd's own (the call's deadline still applies). */
  execSync(containerId: string, cmd: string[], timeoutSeconds = 0): Promise<ExecSyncResult> {
    return this.call(this.runtime, "ExecSync", { containerId, cmd, timeout: timeoutSeconds });
  }

  /** The image as the CRI sees it, or null when it is not there. */
  async imageStatus(image: string): Promise<{ id: string; repoTags: string[]; size: number; pinned: boolean } | null> {
    return (await this.call<{ image: { id: string; repoTags: string[]; size: number; pinned: boolean } | null }>(this.images, "ImageStatus", { image: { image } })).image;
  }
}
