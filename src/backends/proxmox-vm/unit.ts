import { UnsupportedError } from "../../errors.js";

/** The systemd service that runs the bundle's process inside the guest (pure rendering). */
export interface AppService {
  readonly id: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly user?: string;
  readonly group?: string;
  readonly supplementaryGroups: readonly number[];
  /** systemd `Limit*=` lines' keys and `soft:hard` values. */
  readonly limits: ReadonlyArray<readonly [string, string]>;
  readonly capabilityBoundingSet?: readonly string[];
  readonly noNewPrivileges: boolean;
  /** `TemporaryFileSystem=` entries (`/path:options`). */
  readonly tmpfs: readonly string[];
}

export const SERVICE_NAME = "nexcage-app.service";
/** Run as root when the service has ended: records how on the status disk, then powers the guest off. */
export const STOP_HOOK = "/usr/local/lib/nexcage/stopped";
/** Made (as root) when the process is started; a boot that finds it is a reboot (see cloud-init.ts). */
export const STARTED_MARKER = "/var/lib/nexcage-started";

function refuse(what: string): never {
  throw new UnsupportedError(`proxmox-vm cannot honour ${what}`);
}

/** Control characters cannot be written into a unit file line; half a UTF-16 pair is not text. */
export function noControl(what: string, value: string): string {
  if (/[\0-\x1f\x7f]/.test(value)) refuse(`${what} with control characters (${JSON.stringify(value)})`);
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value)) refuse(`${what} that is not well-formed Unicode`);
  return value;
}

/** `%` starts a specifier in every unit setting. */
const specifiersEscaped = (v: string) => v.replace(/%/g, "%%");

/** One word of ExecStart=: double-quoted, `\` and `"` escaped, `%` and `$` doubled (no expansion). */
export function execWord(arg: string): string {
  noControl("process.args", arg);
  return `"${specifiersEscaped(arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).replace(/\$/g, "$$$$")}"`;
}

/** One Environment= assignment, double-quoted. */
export function environmentWord(entry: string): string {
  noControl("process.env", entry);
  return `"${specifiersEscaped(entry.replace(/\\/g, "\\\\").replace(/"/g, '\\"'))}"`;
}

/**
 * The unit file. When the process ends, the stop hook records how (exit-status.ts) and the guest
 * powers off: a VM routed here lives exactly as long as its process, as a container does.
 */
export function renderUnit(s: AppService): string {
  const lines = [
    "[Unit]",
    `Description=${specifiersEscaped(noControl("the container id", `nexcage OCI container ${s.id}`))}`,
    "Wants=network-online.target",
    // cloud-init's final stage starts it (runcmd, --no-block) and runs on after that: a process that
    // ends at once would power the guest off in the middle of it, so it starts once that stage is done
    "After=network-online.target cloud-final.service",
    "",
    "[Service]",
    "Type=exec",
    `ExecStart=${s.args.map(execWord).join(" ")}`,
    `WorkingDirectory=${specifiersEscaped(noControl("process.cwd", s.cwd))}`,
  ];
  if (s.user !== undefined) lines.push(`User=${specifiersEscaped(noControl("process.user", s.user))}`);
  if (s.group !== undefined) lines.push(`Group=${specifiersEscaped(noControl("process.user", s.group))}`);
  if (s.supplementaryGroups.length > 0) lines.push(`SupplementaryGroups=${s.supplementaryGroups.join(" ")}`);
  for (const e of s.env) lines.push(`Environment=${environmentWord(e)}`);
  for (const [k, v] of s.limits) lines.push(`${k}=${v}`);
  if (s.capabilityBoundingSet !== undefined) lines.push(`CapabilityBoundingSet=${s.capabilityBoundingSet.join(" ")}`);
  if (s.noNewPrivileges) lines.push("NoNewPrivileges=yes");
  for (const t of s.tmpfs) lines.push(`TemporaryFileSystem=${specifiersEscaped(noControl("a tmpfs mount", t))}`);
  // `+`: as root whatever User= says (an unprivileged user could not power the guest off)
  lines.push("StandardOutput=journal+console", "StandardError=journal+console", `ExecStartPre=+/usr/bin/touch ${STARTED_MARKER}`, `ExecStopPost=+${STOP_HOOK}`, "");
  return lines.join("\n");
}
