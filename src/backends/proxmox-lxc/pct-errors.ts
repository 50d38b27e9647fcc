import { BackendError, oneLine } from "../../errors.js";

/** What went wrong in a pct/pvesh call, from its stderr text (Proxmox's exit codes say little). */
export type PctErrorKind =
  | "vmid-taken"
  | "ct-missing"
  | "not-running"
  | "already-running"
  | "locked"
  | "storage-missing"
  | "storage-no-rootdir"
  | "template-missing"
  | "parameters"
  | "running"
  | "other";

export class PctError extends BackendError {
  constructor(
    readonly kind: PctErrorKind,
    message: string,
  ) {
    super(message);
  }
}

interface Rule {
  readonly kind: PctErrorKind;
  readonly match: RegExp;
  readonly say: (m: RegExpExecArray, vmid: number | undefined) => string;
}

const RULES: readonly Rule[] = [
  { kind: "vmid-taken", match: /(?:CT|VM) (\d+) already exists on node '([^'\n]*)'/, say: (m) => `VMID ${m[1]} is already used (node ${m[2]})` },
  { kind: "vmid-taken", match: /atomic file '[^'\n]*\/(\d+)\.conf' failed: File exists/, say: (m) => `VMID ${m[1]} is already used` },
  { kind: "vmid-taken", match: /vmid: VM (\d+) already exists/, say: (m) => `VMID ${m[1]} is already used` },
  { kind: "ct-missing", match: /Configuration file '[^'\n]*\/(\d+)\.conf' does not exist/, say: (m) => `Proxmox CT ${m[1]} does not exist (was it removed outside nexcage? delete --force clears the record)` },
  { kind: "already-running", match: /CT (\d+) already running/, say: (m) => `Proxmox CT ${m[1]} is already running` },
  { kind: "not-running", match: /CT (\d+) not running/, say: (m) => `Proxmox CT ${m[1]} is not running` },
  { kind: "running", match: /unable to destroy CT (\d+) - container is running/, say: (m) => `Proxmox CT ${m[1]} is running (use delete --force)` },
  { kind: "locked", match: /CT is locked \(([^)]*)\)/, say: (m, vmid) => `Proxmox CT ${vmid ?? "?"} is locked (${m[1]}): another Proxmox operation holds it; retry, or 'pct unlock ${vmid ?? "<vmid>"}' if it crashed` },
  { kind: "storage-no-rootdir", match: /storage '([^'\n]*)' does not support container directories/, say: (m) => `storage '${m[1]}' cannot hold container root filesystems (no 'rootdir' content): set backends.proxmox-lxc.storage to one that can, such as local-lvm or local-zfs` },
  { kind: "storage-missing", match: /storage '([^'\n]*)' does not exist/, say: (m) => `storage '${m[1]}' does not exist on this Proxmox node: check backends.proxmox-lxc.storage and templateStorage` },
  { kind: "storage-missing", match: /storage '([^'\n]*)' is (disabled|not available on node '[^'\n]*')/, say: (m) => `storage '${m[1]}' is ${m[2]}` },
  { kind: "template-missing", match: /can't find file '([^'\n]*)'/, say: (m) => `template ${m[1]} not found: check backends.proxmox-lxc.templateStorage and templateDir` },
  { kind: "template-missing", match: /unable to use volume (\S+) - content type needs to be 'vztmpl'/, say: (m) => `${m[1]} is not a container template volume (content type vztmpl)` },
];

/**
 * Maps a failed pct/pvesh call to a typed error with an actionable one-line message. `what` says
 * which operation failed ("create failed", "start failed").
 */
export function pctError(what: string, stderr: string, exitCode: number | undefined, vmid?: number): PctError {
  const text = stderr.trim();
  for (const rule of RULES) {
    const m = rule.match.exec(text);
    if (m) return new PctError(rule.kind, oneLine(`${what}: ${rule.say(m, vmid)}`));
  }
  if (/400 Parameter verification failed\./.test(text)) {
    const details = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^[a-z][a-z0-9_-]*: /.test(l) && !/^(USAGE|usage):/.test(l));
    return new PctError("parameters", oneLine(`${what}: pct rejected the parameters: ${details.join("; ") || "see --debug"}`));
  }
  const last = text.split("\n").filter((l) => l.trim() !== "").pop();
  return new PctError("other", `${what}: ${oneLine(last ?? `exit status ${exitCode ?? "?"}`)}`);
}
