import { STATUS_DISK_GUEST_PATH } from "./exit-status.js";
import { renderUnit, SERVICE_NAME, STARTED_MARKER, STOP_HOOK, type AppService } from "./unit.js";

/** Powers off a guest that boots again after its process was started: runc's answer to a reboot (the container has stopped). */
export const REBOOT_GUARD = "nexcage-reboot.service";

/** systemd gives an ExecStopPost= command the service's end as EXIT_CODE (exited|killed|dumped) and EXIT_STATUS. */
const STOP_HOOK_SCRIPT = `#!/bin/sh
# nexcage: how the container's process ended, for the host to read from the status disk once the guest is off
printf 'nexcage-exit %s %s\\n' "\${EXIT_CODE:-unknown}" "\${EXIT_STATUS:-}" | dd of=${STATUS_DISK_GUEST_PATH} bs=512 conv=sync,fsync status=none
exec /usr/bin/systemctl --no-block poweroff
`;

const REBOOT_GUARD_UNIT = `[Unit]
Description=nexcage: the container's process has run; a reboot ends the container
ConditionPathExists=${STARTED_MARKER}

[Service]
Type=oneshot
ExecStart=/usr/bin/systemctl --no-block poweroff

[Install]
WantedBy=multi-user.target
`;

/** What the guest's cloud-init gets from the bundle (pure rendering). */
export interface GuestSetup {
  readonly hostname: string;
  readonly service: AppService;
  /** linux.sysctl, applied before the process starts. */
  readonly sysctl: ReadonlyArray<readonly [string, string]>;
}

/**
 * A YAML double-quoted scalar: a JSON string, with the characters YAML treats as line breaks
 * (U+0085, U+2028, U+2029) or refuses in a stream (DEL, C1 controls, U+FEFF, U+FFFE, U+FFFF) written
 * as `\uXXXX` escapes, which YAML and JSON read alike.
 */
export function yamlString(v: string): string {
  return JSON.stringify(v).replace(/[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
const q = yamlString;
const list = (words: readonly string[]) => `[${words.map(q).join(", ")}]`;

/**
 * The `#cloud-config` user-data: the hostname, the service unit running the bundle's process (and
 * its sysctls), its stop hook and the reboot guard written to the guest's disk, and the commands
 * that start it once at first boot (runcmd runs once per instance: a reboot does not restart it).
 */
export function renderUserData(g: GuestSetup): string {
  const files: Array<{ path: string; permissions: string; content: string }> = [
    { path: `/etc/systemd/system/${SERVICE_NAME}`, permissions: "0644", content: renderUnit(g.service) },
    { path: STOP_HOOK, permissions: "0755", content: STOP_HOOK_SCRIPT },
    { path: `/etc/systemd/system/${REBOOT_GUARD}`, permissions: "0644", content: REBOOT_GUARD_UNIT },
  ];
  const cmds: string[][] = [];
  if (g.sysctl.length > 0) {
    files.push({ path: "/etc/sysctl.d/90-nexcage.conf", permissions: "0644", content: g.sysctl.map(([k, v]) => `${k} = ${v}\n`).join("") });
    cmds.push(["sysctl", "--load", "/etc/sysctl.d/90-nexcage.conf"]);
  }
  cmds.push(["systemctl", "daemon-reload"], ["systemctl", "enable", REBOOT_GUARD], ["systemctl", "start", "--no-block", SERVICE_NAME]);
  const out = [
    "#cloud-config",
    `# nexcage OCI container ${JSON.stringify(g.service.id)}`,
    `hostname: ${q(g.hostname)}`,
    "preserve_hostname: false",
    "write_files:",
  ];
  for (const f of files) out.push(`  - path: ${q(f.path)}`, `    permissions: ${q(f.permissions)}`, `    content: ${q(f.content)}`);
  out.push("runcmd:");
  for (const c of cmds) out.push(`  - ${list(c)}`);
  return `${out.join("\n")}\n`;
}
