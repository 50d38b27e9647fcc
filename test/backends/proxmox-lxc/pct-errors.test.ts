import { describe, expect, it } from "vitest";
import { pctError } from "../../../src/backends/proxmox-lxc/pct-errors.js";

describe("pct error mapping (texts from proxmox-cli.md)", () => {
  it.each([
    ["CT 100 already exists on node 'pve'", "vmid-taken", "create failed: VMID 100 is already used (node pve)"],
    ["VM 100 already exists on node 'pve'", "vmid-taken", "create failed: VMID 100 is already used (node pve)"],
    ["unable to create CT 100 - close (rename) atomic file '/etc/pve/nodes/pve/lxc/100.conf' failed: File exists", "vmid-taken", "create failed: VMID 100 is already used"],
    ["Configuration file 'nodes/pve/lxc/105.conf' does not exist", "ct-missing", "create failed: Proxmox CT 105 does not exist (was it removed outside nexcage? delete --force clears the record)"],
    ["CT 105 already running", "already-running", "create failed: Proxmox CT 105 is already running"],
    ["CT 105 not running", "not-running", "create failed: Proxmox CT 105 is not running"],
    ["unable to destroy CT 105 - container is running", "running", "create failed: Proxmox CT 105 is running (use delete --force)"],
    ["CT is locked (create)", "locked", "create failed: Proxmox CT 105 is locked (create): another Proxmox operation holds it; retry, or 'pct unlock 105' if it crashed"],
    ["storage 'foo' does not exist", "storage-missing", "create failed: storage 'foo' does not exist on this Proxmox node: check backends.proxmox-lxc.storage and templateStorage"],
    ["storage 'foo' is disabled", "storage-missing", "create failed: storage 'foo' is disabled"],
    ["400 Parameter verification failed.\nstorage: storage 'local' does not support container directories\npct create <vmid> <ostemplate> [OPTIONS]", "storage-no-rootdir", /^create failed: storage 'local' cannot hold container root filesystems/],
    ["unable to create CT 100 - can't find file 'local:vztmpl/nonexistent.tar.zst'", "template-missing", "create failed: template local:vztmpl/nonexistent.tar.zst not found: check backends.proxmox-lxc.templateStorage and templateDir"],
    ["400 Parameter verification failed.\nhostname: invalid format - value does not look like a valid DNS name\nmemory: value must have a minimum value of 16\n\npct create <vmid> <ostemplate> [OPTIONS]", "parameters", "create failed: pct rejected the parameters: hostname: invalid format - value does not look like a valid DNS name; memory: value must have a minimum value of 16"],
    ["something\nunexpected happened\n", "other", "create failed: unexpected happened"],
    ["", "other", "create failed: exit status 255"],
  ])("%j", (stderr, kind, message) => {
    const e = pctError("create failed", stderr, 255, 105);
    expect(e.kind).toBe(kind);
    if (message instanceof RegExp) expect(e.message).toMatch(message);
    else expect(e.message).toBe(message);
  });
});
