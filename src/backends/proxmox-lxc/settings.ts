import { array, boolean, enum as zEnum, number, strictObject, string, type output } from "zod";
import { absolutePath, bridgeName, ipv4, ipv4Config, storageId, tag, vmidRange } from "../proxmox/pve-schema.js";

/** backends."proxmox-lxc" in the config file. */
export const proxmoxLxcSettingsSchema = strictObject({
  pct: absolutePath.default("/usr/sbin/pct"),
  pvesh: absolutePath.default("/usr/bin/pvesh"),
  /** Storage for the CT's root filesystem (needs `rootdir` content). */
  storage: storageId.default("local-lvm"),
  rootfsSizeGiB: number().positive().max(131072).default(4),
  /** Storage whose `vztmpl` content receives the template archive made from the bundle. */
  templateStorage: storageId.default("local"),
  /** That storage's template directory. */
  templateDir: absolutePath.default("/var/lib/vz/template/cache"),
  bridge: bridgeName.default("vmbr0"),
  /** net0 ip: `dhcp`, `manual` or an address in CIDR form. */
  ip: ipv4Config.default("dhcp"),
  gateway: ipv4.optional(),
  vmidRange: vmidRange.optional(),
  unprivileged: boolean().default(true),
  ostype: string().regex(/^(alpine|archlinux|centos|debian|devuan|fedora|gentoo|nixos|opensuse|ubuntu|unmanaged)$/, "a Proxmox ostype").default("unmanaged"),
  /** pct --features, e.g. "nesting=1,keyctl=1". */
  features: string().regex(/^(force_rw_sys|fuse|keyctl|mknod|nesting|mount)=[A-Za-z0-9;]+(,(force_rw_sys|fuse|keyctl|mknod|nesting|mount)=[A-Za-z0-9;]+)*$/, "key=value pairs of pct features").optional(),
  tags: array(tag).default([]),
  timeoutSeconds: number().positive().max(3600).default(300),
  /**
   * create --image with an OCI archive in template storage: `unpack` (nexcage unpacks it and maps its
   * config, any PVE version) or `pct` (the archive goes to `pct create`, which maps it; PVE >= 9.1).
   */
  ociImages: zEnum(["unpack", "pct"]).default("unpack"),
  /** Where Proxmox keeps CT configs (/etc/pve/lxc links to this node's directory). */
  confDir: absolutePath.default("/etc/pve/lxc"),
  /** Where Proxmox keeps the configs' flock files. */
  lockDir: absolutePath.default("/run/lock/lxc"),
});

export type ProxmoxLxcSettings = output<typeof proxmoxLxcSettingsSchema>;
