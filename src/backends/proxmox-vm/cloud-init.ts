import { renderUnit, SERVICE_NAME, type AppService } from "./unit.js";

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
 * its sysctls) written to the guest's disk, and the commands that start it once at first boot.
 */
export function renderUserData(g: GuestSetup): string {
  const files: Array<{ path: string; permissions: string; content: string }> = [
    { path: `/etc/systemd/system/${SERVICE_NAME}`, permissions: "0644", content: renderUnit(g.service) },
  ];
  const cmds: string[][] = [];
  if (g.sysctl.length > 0) {
    files.push({ path: "/etc/sysctl.d/90-nexcage.conf", permissions: "0644", content: g.sysctl.map(([k, v]) => `${k} = ${v}\n`).join("") });
    cmds.push(["sysctl", "--load", "/etc/sysctl.d/90-nexcage.conf"]);
  }
  cmds.push(["systemctl", "daemon-reload"], ["systemctl", "start", "--no-block", SERVICE_NAME]);
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
