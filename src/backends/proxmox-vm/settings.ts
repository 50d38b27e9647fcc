import { _default, array, boolean, enum as zEnum, int, lazy, maximum, minimum, minLength, optional, refine, strictObject, string, type output } from "zod/mini";
import { absolutePath, seconds } from "../../config/values.js";
import { bridgeName, ipv4, ipv4Config, storageId, tag, vmid, vmidRange } from "../proxmox/pve-schema.js";

/** Built on first use, like the config schema it is part of. */
function buildSettingsSchema() {
  /** A disk image to import: a Proxmox volume id (`local:import/x.qcow2`, `local:iso/x.img`) or an absolute path. */
  const imageSource = string().check(
    minLength(1),
    refine((v: string) => (v.startsWith("/") || /^[a-z][a-z0-9\-_.]*[a-z0-9]:[^\s,=]+$/i.test(v)) && !/[\s,=\0]/.test(v), {
      message: "a volume id (storage:path) or an absolute path without ',', '=' or white space",
    }),
  );
  const bounded = (min: number, max: number) => int().check(minimum(min), maximum(max));

  return strictObject({
    qm: _default(absolutePath(), "/usr/sbin/qm"),
    /** Reads the status disk (the process's exit code) after the guest powered off. */
    pvesm: _default(absolutePath(), "/usr/sbin/pvesm"),
    pvesh: _default(absolutePath(), "/usr/bin/pvesh"),
    /** Template VM to clone (`qm clone`); it must carry a cloud-init drive. One of template / image. */
    template: optional(vmid()),
    /** Full clone of the template (independent disks); false makes a linked clone. */
    fullClone: _default(boolean(), true),
    /** Disk image imported into a new VM (`qm create ... --scsi0 <storage>:0,import-from=<image>`). */
    image: optional(imageSource),
    /** Storage of the VM's disks and cloud-init drive (needs `images` content). */
    storage: _default(storageId(), "local-lvm"),
    /** Storage with `snippets` content that receives the cloud-init user-data made from the bundle. */
    snippetStorage: _default(storageId(), "local"),
    /** That storage's snippets directory. */
    snippetDir: _default(absolutePath(), "/var/lib/vz/snippets"),
    bridge: _default(bridgeName(), "vmbr0"),
    /** net0 NIC model. */
    netModel: _default(zEnum(["virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"]), "virtio"),
    /** ipconfig0 ip: `dhcp` or an address in CIDR form. */
    ip: _default(ipv4Config().check(refine((v: string) => v !== "manual", { message: "dhcp or IPv4/CIDR" })), "dhcp"),
    gateway: optional(ipv4()),
    vmidRange: optional(vmidRange()),
    /** Memory (MiB) and cores when the bundle sets no limit. */
    memoryMiB: _default(bounded(16, 4_194_304), 512),
    cores: _default(bounded(1, 8192), 1),
    ostype: _default(zEnum(["l26", "l24", "other", "solaris", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11"]), "l26"),
    /** `--agent 1`: lets Proxmox shut the guest down through the QEMU guest agent (false: a clone keeps the template's setting). */
    agent: _default(boolean(), false),
    tags: _default(array(tag()), []),
    /** SIGTERM/SIGINT/SIGPWR become `qm shutdown --timeout <this>`. */
    shutdownTimeoutSeconds: _default(bounded(0, 3600), 60),
    /** When the guest has not powered off within that timeout: `qm stop` it (true) or report the failure (false). */
    stopAfterShutdownTimeout: _default(boolean(), true),
    /** Seconds one qm call may take (create with an image import can be slow). */
    timeoutSeconds: seconds(600),
    /** Where Proxmox keeps VM configs (/etc/pve/qemu-server links to this node's directory). */
    confDir: _default(absolutePath(), "/etc/pve/qemu-server"),
  });
}

/** backends."proxmox-vm" in the config file; a VM is made from a template or from an image, never both. */
export const proxmoxVmSettingsSchema = lazy(() =>
  buildSettingsSchema().check(
    refine((s) => s.template === undefined || s.image === undefined, {
      message: "give either template (a VMID to clone) or image (a disk to import), not both",
    }),
  ),
);

export type ProxmoxVmSettings = output<typeof proxmoxVmSettingsSchema>;
