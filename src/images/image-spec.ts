import { BackendError } from "../errors.js";
import { defaultSpec } from "../oci/default-spec.js";
import type { ImageConfig } from "./image-config.js";
import type { ResolvedUser } from "./passwd.js";

/** What container engines give a container from an image: docker's default capability set. */
const ENGINE_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];
/** image-spec conversion: config.StopSignal → this annotation (proxmox-lxc turns it into lxc.signal.halt, as PVE 9.1 does). */
export const STOP_SIGNAL_ANNOTATION = "org.opencontainers.image.stopSignal";
const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Entrypoint + Cmd, as engines join them. */
export function imageArgs(config: ImageConfig): string[] {
  return [...(config.config?.Entrypoint ?? []), ...(config.config?.Cmd ?? [])];
}

/**
 * Pure: an image configuration → the runtime config.json of a container made from it: args =
 * Entrypoint + Cmd, the image's Env (PATH added when missing), WorkingDir (default /), the resolved
 * User, the image's labels as annotations, a writable root and engine capabilities. `args`
 * overrides the whole command (a Proxmox system template's /sbin/init).
 */
export function specFromImage(config: ImageConfig, o: { hostname: string; user: ResolvedUser; reference: string; args?: readonly string[] }): Record<string, unknown> {
  const args = o.args ? [...o.args] : imageArgs(config);
  if (args.length === 0) throw new BackendError(`image ${o.reference} has no entrypoint or command to run`);
  if (config.os !== undefined && config.os !== "linux") throw new BackendError(`image ${o.reference} is for ${JSON.stringify(config.os)}, not linux`);
  const env = [...(config.config?.Env ?? [])];
  if (!env.some((e) => e.startsWith("PATH="))) env.unshift(DEFAULT_PATH);
  const cwd = config.config?.WorkingDir || "/";
  if (!cwd.startsWith("/")) throw new BackendError(`image ${o.reference} has a relative working directory ${JSON.stringify(cwd)}`);
  const spec = defaultSpec({ rootless: false, uid: 0, gid: 0 }) as { process: Record<string, unknown>; root: Record<string, unknown>; [k: string]: unknown };
  spec.process = {
    ...spec.process,
    terminal: false,
    args,
    env,
    cwd,
    user: { uid: o.user.uid, gid: o.user.gid, ...(o.user.additionalGids.length > 0 ? { additionalGids: [...o.user.additionalGids] } : {}) },
    capabilities: { bounding: ENGINE_CAPS, effective: ENGINE_CAPS, permitted: ENGINE_CAPS },
    noNewPrivileges: false,
  };
  spec.root = { path: "rootfs", readonly: false };
  spec.hostname = o.hostname;
  // image-spec's conversion annotations: labels, then the reference and stop signal
  spec.annotations = {
    ...(config.config?.Labels ?? {}),
    "org.opencontainers.image.ref.name": o.reference,
    ...(config.config?.StopSignal ? { [STOP_SIGNAL_ANNOTATION]: config.config.StopSignal } : {}),
  };
  return spec;
}
