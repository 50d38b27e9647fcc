import { array, boolean, enum as zEnum, number, strictObject, string, type output } from "zod";

const absolutePath = string().min(1).refine((p) => p.startsWith("/") && !p.includes("\0"), { message: "must be an absolute path" });
/** Proxmox storage ids: `[a-z][a-z0-9\-_.]*[a-z0-9]` (case-insensitive). */
export const STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
const storageId = string().regex(STORAGE_ID, "not a valid Proxmox storage id");
/** Linux bridge / interface names: at most 15 characters, no '/', ',', '=' or white space. */
const bridgeName = string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, "not a valid bridge name");
const vmid = number().int().min(100).max(999_999_999);
/** Proxmox tags: `[a-z0-9_][a-z0-9_\-+.]*`. */
const tag = string().regex(/^[a-z0-9_][a-z0-9_\-+.]*$/, "not a valid Proxmox tag");

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
  ip: string().regex(/^(dhcp|manual|[0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2})$/, "dhcp, manual or IPv4/CIDR").default("dhcp"),
  gateway: string().regex(/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/, "an IPv4 address").optional(),
  vmidRange: strictObject({ min: vmid, max: vmid })
    .refine((r) => r.min <= r.max, { message: "min must not exceed max" })
    .optional(),
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
