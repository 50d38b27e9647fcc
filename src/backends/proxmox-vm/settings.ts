import { array, boolean, enum as zEnum, number, strictObject, string, type output } from "zod";
import { absolutePath, bridgeName, ipv4, ipv4Config, storageId, tag, vmid, vmidRange } from "../proxmox/pve-schema.js";

/** A disk image to import: a Proxmox volume id (`local:import/x.qcow2`, `local:iso/x.img`) or an absolute path. */
const imageSource = string()
  .min(1)
  .refine((v) => (v.startsWith("/") || /^[a-z][a-z0-9\-_.]*[a-z0-9]:[^\s,=]+$/i.test(v)) && !/[\s,=\0]/.test(v), {
    message: "a volume id (storage:path) or an absolute path without ',', '=' or white space",
  });

/** backends."proxmox-vm" in the config file. */
export const proxmoxVmSettingsSchema = strictObject({
  qm: absolutePath.default("/usr/sbin/qm"),
  pvesh: absolutePath.default("/usr/bin/pvesh"),
  /** Template VM to clone (`qm clone`); it must carry a cloud-init drive. One of template / image. */
  template: vmid.optional(),
  /** Full clone of the template (independent disks); false makes a linked clone. */
  fullClone: boolean().default(true),
  /** Disk image imported into a new VM (`qm create ... --scsi0 <storage>:0,import-from=<image>`). */
  image: imageSource.optional(),
  /** Storage of the VM's disks and cloud-init drive (needs `images` content). */
  storage: storageId.default("local-lvm"),
  /** Storage with `snippets` content that receives the cloud-init user-data made from the bundle. */
  snippetStorage: storageId.default("local"),
  /** That storage's snippets directory. */
  snippetDir: absolutePath.default("/var/lib/vz/snippets"),
  bridge: bridgeName.default("vmbr0"),
  /** net0 NIC model. */
  netModel: zEnum(["virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"]).default("virtio"),
  /** ipconfig0 ip: `dhcp` or an address in CIDR form. */
  ip: ipv4Config.refine((v) => v !== "manual", { message: "dhcp or IPv4/CIDR" }).default("dhcp"),
  gateway: ipv4.optional(),
  vmidRange: vmidRange.optional(),
  /** Memory (MiB) and cores when the bundle sets no limit. */
  memoryMiB: number().int().min(16).max(4_194_304).default(512),
  cores: number().int().min(1).max(8192).default(1),
  ostype: zEnum(["l26", "l24", "other", "solaris", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11"]).default("l26"),
  /** `--agent 1`: lets Proxmox shut the guest down through the QEMU guest agent (false: a clone keeps the template's setting). */
  agent: boolean().default(false),
  tags: array(tag).default([]),
  /** SIGTERM/SIGINT/SIGPWR become `qm shutdown --timeout <this>`. */
  shutdownTimeoutSeconds: number().int().min(0).max(3600).default(60),
  /** When the guest has not powered off within that timeout: `qm stop` it (true) or report the failure (false). */
  stopAfterShutdownTimeout: boolean().default(true),
  /** Seconds one qm call may take (create with an image import can be slow). */
  timeoutSeconds: number().positive().max(3600).default(600),
  /** Where Proxmox keeps VM configs (/etc/pve/qemu-server links to this node's directory). */
  confDir: absolutePath.default("/etc/pve/qemu-server"),
});

export type ProxmoxVmSettings = output<typeof proxmoxVmSettingsSchema>;
