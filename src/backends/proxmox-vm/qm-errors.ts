import { BackendError, oneLine } from "../../errors.js";

/** What went wrong in a qm/pvesh call, from its stderr text (Proxmox's exit codes say little). */
export type QmErrorKind =
  | "vmid-taken"
  | "vm-missing"
  | "template-missing"
  | "not-running"
  | "already-running"
  | "running"
  | "paused"
  | "locked"
  | "is-template"
  | "shutdown-timeout"
  | "storage-missing"
  | "storage-no-images"
  | "image-missing"
  | "snippet-missing"
  | "linked-clone"
  | "parameters"
  | "agent-missing"
  | "agent-down"
  | "agent-error"
  | "other";

export class QmError extends BackendError {
  constructor(
    readonly kind: QmErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Which VMs the failing call was about, so a message can tell our VM from the template. */
export interface QmContext {
  readonly vmid?: number;
  readonly template?: number;
}

interface Rule {
  readonly kind: QmErrorKind | ((m: RegExpExecArray, c: QmContext) => QmErrorKind);
  readonly match: RegExp;
  readonly say: (m: RegExpExecArray, c: QmContext) => string;
}

const missing = (m: RegExpExecArray, c: QmContext): QmErrorKind => (c.template !== undefined && Number(m[1]) === c.template && c.vmid !== c.template ? "template-missing" : "vm-missing");
const sayMissing = (m: RegExpExecArray, c: QmContext) =>
  missing(m, c) === "template-missing"
    ? `template VM ${m[1]} does not exist on this node: check backends.proxmox-vm.template`
    : `Proxmox VM ${m[1]} does not exist (was it removed outside nexcage? delete --force clears the record)`;
const isSnippet = (m: RegExpExecArray) => /:snippets\//.test(m[1] ?? "");

const RULES: readonly Rule[] = [
  { kind: "vmid-taken", match: /(?:CT|VM) (\d+) already exists on node '([^'\n]*)'/, say: (m) => `VMID ${m[1]} is already used (node ${m[2]})` },
  { kind: "vmid-taken", match: /unable to create VM (\d+): config file already exists/, say: (m) => `VMID ${m[1]} is already used` },
  { kind: "vmid-taken", match: /atomic file '[^'\n]*\/(\d+)\.conf' failed: File exists/, say: (m) => `VMID ${m[1]} is already used` },
  { kind: "vmid-taken", match: /vmid: VM (\d+) already exists/, say: (m) => `VMID ${m[1]} is already used` },
  { kind: missing, match: /Configuration file '[^'\n]*\/(\d+)\.conf' does not exist/, say: sayMissing },
  { kind: missing, match: /unable to find configuration file for VM (\d+) on node/, say: sayMissing },
  { kind: "already-running", match: /VM (\d+) already running/, say: (m) => `Proxmox VM ${m[1]} is already running` },
  { kind: "running", match: /VM (\d+) is running - destroy failed/, say: (m) => `Proxmox VM ${m[1]} is running (use delete --force)` },
  { kind: "not-running", match: /VM (\d+) (?:is )?not running/, say: (m) => `Proxmox VM ${m[1]} is not running` },
  { kind: "paused", match: /VM is paused - cannot shutdown/, say: (_m, c) => `Proxmox VM ${c.vmid ?? "?"} is paused: resume it first, or kill it with SIGKILL` },
  { kind: "locked", match: /VM is locked \(([^)]*)\)/, say: (m, c) => `Proxmox VM ${c.vmid ?? "?"} is locked (${m[1]}): another Proxmox operation holds it; retry, or 'qm unlock ${c.vmid ?? "<vmid>"}' if it crashed` },
  { kind: "is-template", match: /you can't start a vm if it's a template/, say: (_m, c) => `Proxmox VM ${c.vmid ?? "?"} is a template and cannot be started` },
  { kind: "shutdown-timeout", match: /VM quit\/powerdown failed - got timeout/, say: (_m, c) => `Proxmox VM ${c.vmid ?? "?"} did not power off in time (the guest ignored the ACPI shutdown): send SIGKILL to stop it, or set backends.proxmox-vm.stopAfterShutdownTimeout` },
  { kind: "storage-no-images", match: /storage '([^'\n]*)' does not support vm images/, say: (m) => `storage '${m[1]}' cannot hold VM disks (no 'images' content): set backends.proxmox-vm.storage to one that can, such as local-lvm or local-zfs` },
  { kind: "storage-missing", match: /storage '([^'\n]*)' does not exist/, say: (m) => `storage '${m[1]}' does not exist on this Proxmox node: check backends.proxmox-vm.storage and snippetStorage` },
  { kind: "storage-missing", match: /storage '([^'\n]*)' is (disabled|not available on node '[^'\n]*')/, say: (m) => `storage '${m[1]}' is ${m[2]}` },
  { kind: "snippet-missing", match: /(\S+) is not in the snippets directory/, say: (m) => `${m[1]} is not a snippet volume: check backends.proxmox-vm.snippetStorage` },
  {
    kind: (m) => (isSnippet(m) ? "snippet-missing" : "image-missing"),
    match: /can't find file '([^'\n]*)'/,
    say: (m) => (isSnippet(m) ? `cloud-init snippet ${m[1]} not found: check backends.proxmox-vm.snippetStorage and snippetDir` : `disk image ${m[1]} not found: check backends.proxmox-vm.image`),
  },
  { kind: "image-missing", match: /unable to parse volume ID '([^'\n]*)'/, say: (m) => `${m[1]} is not a volume id: check backends.proxmox-vm.image` },
  { kind: "agent-missing", match: /No QEMU guest agent configured/, say: (_m, c) => `Proxmox VM ${c.vmid ?? "?"} has no guest agent configured: set backends.proxmox-vm.agent to true (and use an image with qemu-guest-agent)` },
  { kind: "agent-down", match: /QEMU guest agent is not running/, say: (_m, c) => `the guest agent of Proxmox VM ${c.vmid ?? "?"} does not answer (is the guest still booting? does its image run qemu-guest-agent?)` },
  { kind: "agent-error", match: /Agent error: (.*)/, say: (m) => `guest agent: ${m[1]}` },
  { kind: "linked-clone", match: /Linked clone feature is not supported for '([^'\n]*)'/, say: (m) => `the template's disk ${m[1]} cannot be cloned linked: set backends.proxmox-vm.fullClone to true` },
];

/**
 * Maps a failed qm/pvesh call to a typed error with an actionable one-line message. `what` says
 * which operation failed ("create failed", "start failed").
 */
export function qmError(what: string, stderr: string, exitCode: number | undefined, context: QmContext = {}): QmError {
  const text = stderr.trim();
  for (const rule of RULES) {
    const m = rule.match.exec(text);
    if (m) return new QmError(typeof rule.kind === "function" ? rule.kind(m, context) : rule.kind, oneLine(`${what}: ${rule.say(m, context)}`));
  }
  if (/400 Parameter verification failed\./.test(text)) {
    const details = text
      .split("\n")
      .map((l) => l.trim())
      // sub-keys of a property string (`memory.current: …`) carry the useful line
      .filter((l) => /^[a-z][a-z0-9_-]*(\[\d+\])?(\.[a-z][a-z0-9_-]*)*: /.test(l));
    return new QmError("parameters", oneLine(`${what}: qm rejected the parameters: ${details.join("; ") || "see --debug"}`));
  }
  const last = text.split("\n").filter((l) => l.trim() !== "").pop();
  return new QmError("other", `${what}: ${oneLine(last ?? `exit status ${exitCode ?? "?"}`)}`);
}
