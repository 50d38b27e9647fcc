import { describe, expect, it } from "vitest";
import { qmError } from "../../../src/backends/proxmox-vm/qm-errors.js";

const ctx = { vmid: 105, template: 9000 };

describe("qm error mapping (texts from proxmox-cli.md and qemu-server)", () => {
  it.each([
    ["unable to create VM 105 - VM 105 already exists on node 'pve'", "vmid-taken", "x failed: VMID 105 is already used (node pve)"],
    ["unable to create VM 105 - CT 105 already exists on node 'pve2'", "vmid-taken", "x failed: VMID 105 is already used (node pve2)"],
    ["unable to create VM 105: config file already exists", "vmid-taken", "x failed: VMID 105 is already used"],
    ["unable to create VM 105 - close (rename) atomic file '/etc/pve/nodes/pve/qemu-server/105.conf' failed: File exists", "vmid-taken", "x failed: VMID 105 is already used"],
    ["Configuration file 'nodes/pve/qemu-server/105.conf' does not exist", "vm-missing", "x failed: Proxmox VM 105 does not exist (was it removed outside nexcage? delete --force clears the record)"],
    ["unable to find configuration file for VM 105 on node 'pve'", "vm-missing", "x failed: Proxmox VM 105 does not exist (was it removed outside nexcage? delete --force clears the record)"],
    ["Configuration file 'nodes/pve/qemu-server/9000.conf' does not exist", "template-missing", "x failed: template VM 9000 does not exist on this node: check backends.proxmox-vm.template"],
    ["VM 105 already running", "already-running", "x failed: Proxmox VM 105 is already running"],
    ["VM 105 not running", "not-running", "x failed: Proxmox VM 105 is not running"],
    ["VM 105 is not running", "not-running", "x failed: Proxmox VM 105 is not running"],
    ["VM 105 is running - destroy failed", "running", "x failed: Proxmox VM 105 is running (use delete --force)"],
    ["VM is paused - cannot shutdown", "paused", "x failed: Proxmox VM 105 is paused: resume it first, or kill it with SIGKILL"],
    ["VM is locked (backup)", "locked", "x failed: Proxmox VM 105 is locked (backup): another Proxmox operation holds it; retry, or 'qm unlock 105' if it crashed"],
    ["you can't start a vm if it's a template", "is-template", "x failed: Proxmox VM 105 is a template and cannot be started"],
    ["VM quit/powerdown failed - got timeout", "shutdown-timeout", /^x failed: Proxmox VM 105 did not power off in time/],
    ["400 Parameter verification failed.\nstorage: storage 'local' does not support vm images\nqm create <vmid> [OPTIONS]", "storage-no-images", /^x failed: storage 'local' cannot hold VM disks \(no 'images' content\)/],
    ["storage 'nope' does not exist", "storage-missing", "x failed: storage 'nope' does not exist on this Proxmox node: check backends.proxmox-vm.storage and snippetStorage"],
    ["storage 'ssd' is not available on node 'pve'", "storage-missing", "x failed: storage 'ssd' is not available on node 'pve'"],
    ["can't find file 'local:snippets/nexcage-a-1.yaml'", "snippet-missing", "x failed: cloud-init snippet local:snippets/nexcage-a-1.yaml not found: check backends.proxmox-vm.snippetStorage and snippetDir"],
    ["local:iso/x.yaml is not in the snippets directory", "snippet-missing", "x failed: local:iso/x.yaml is not a snippet volume: check backends.proxmox-vm.snippetStorage"],
    ["can't find file '/var/lib/vz/import/debian.qcow2'", "image-missing", "x failed: disk image /var/lib/vz/import/debian.qcow2 not found: check backends.proxmox-vm.image"],
    ["Linked clone feature is not supported for 'local:9000/vm-9000-disk-0.raw' (scsi0)", "linked-clone", /^x failed: the template's disk local:9000\/vm-9000-disk-0\.raw cannot be cloned linked: set backends\.proxmox-vm\.fullClone to true$/],
    ["400 Parameter verification failed.\nname: invalid format - value does not look like a valid DNS name\n\nqm create <vmid> [OPTIONS]", "parameters", "x failed: qm rejected the parameters: name: invalid format - value does not look like a valid DNS name"],
    ["400 Parameter verification failed.\nmemory: invalid format - format error\nmemory.current: value must have a maximum value of 8388608\n\nqm set <vmid> [OPTIONS]", "parameters", "x failed: qm rejected the parameters: memory: invalid format - format error; memory.current: value must have a maximum value of 8388608"],
    ["No QEMU guest agent configured", "agent-missing", "x failed: Proxmox VM 105 has no guest agent configured: set backends.proxmox-vm.agent to true (and use an image with qemu-guest-agent)"],
    ["QEMU guest agent is not running", "agent-down", "x failed: the guest agent of Proxmox VM 105 does not answer (is the guest still booting? does its image run qemu-guest-agent?)"],
    ["Agent error: Guest agent command failed, error was 'Failed to execute child process “/x” (No such file or directory)'", "agent-error", "x failed: guest agent: Guest agent command failed, error was 'Failed to execute child process “/x” (No such file or directory)'"],
    ["trying to acquire lock...\ncan't lock file '/var/lock/qemu-server/lock-105.conf' - got timeout", "other", "x failed: can't lock file '/var/lock/qemu-server/lock-105.conf' - got timeout"],
    ["", "other", "x failed: exit status 255"],
  ])("%j", (stderr, kind, message) => {
    const e = qmError("x failed", stderr, 255, ctx);
    expect(e.kind).toBe(kind);
    expect(e.message).not.toMatch(/\n/);
    if (message instanceof RegExp) expect(e.message).toMatch(message);
    else expect(e.message).toBe(message);
  });

  it("without a template in the context a missing config is our VM's", () => {
    expect(qmError("x failed", "Configuration file 'nodes/pve/qemu-server/9000.conf' does not exist", 2, { vmid: 9000 }).kind).toBe("vm-missing");
  });
});
