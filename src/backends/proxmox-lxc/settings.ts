import { _default, array, boolean, int, lazy, maximum, minimum, minLength, number, optional, positive, refine, regex, strictObject, string, type output } from "zod/mini";

/** Proxmox storage ids: `[a-z][a-z0-9\-_.]*[a-z0-9]` (case-insensitive). */
export const STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;

/** Built on first use, like the config schema it is part of. */
function buildSettingsSchema() {
  const absolutePath = string().check(minLength(1), refine((p: string) => p.startsWith("/") && !p.includes("\0"), { message: "must be an absolute path" }));
  const storageId = string().check(regex(STORAGE_ID, "not a valid Proxmox storage id"));
  /** Linux bridge / interface names: at most 15 characters, no '/', ',', '=' or white space. */
  const bridgeName = string().check(regex(/^[A-Za-z0-9_.:-]{1,15}$/, "not a valid bridge name"));
  const vmid = int().check(minimum(100), maximum(999_999_999));
  /** Proxmox tags: `[a-z0-9_][a-z0-9_\-+.]*`. */
  const tag = string().check(regex(/^[a-z0-9_][a-z0-9_\-+.]*$/, "not a valid Proxmox tag"));
  const pattern = (re: RegExp, message: string) => string().check(regex(re, message));

  return strictObject({
    pct: _default(absolutePath, "/usr/sbin/pct"),
    pvesh: _default(absolutePath, "/usr/bin/pvesh"),
    /** Storage for the CT's root filesystem (needs `rootdir` content). */
    storage: _default(storageId, "local-lvm"),
    rootfsSizeGiB: _default(number().check(positive(), maximum(131072)), 4),
    /** Storage whose `vztmpl` content receives the template archive made from the bundle. */
    templateStorage: _default(storageId, "local"),
    /** That storage's template directory. */
    templateDir: _default(absolutePath, "/var/lib/vz/template/cache"),
    bridge: _default(bridgeName, "vmbr0"),
    /** net0 ip: `dhcp`, `manual` or an address in CIDR form. */
    ip: _default(pattern(/^(dhcp|manual|[0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2})$/, "dhcp, manual or IPv4/CIDR"), "dhcp"),
    gateway: optional(pattern(/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/, "an IPv4 address")),
    vmidRange: optional(strictObject({ min: vmid, max: vmid }).check(refine((r) => r.min <= r.max, { message: "min must not exceed max" }))),
    unprivileged: _default(boolean(), true),
    ostype: _default(pattern(/^(alpine|archlinux|centos|debian|devuan|fedora|gentoo|nixos|opensuse|ubuntu|unmanaged)$/, "a Proxmox ostype"), "unmanaged"),
    /** pct --features, e.g. "nesting=1,keyctl=1". */
    features: optional(
      pattern(
        /^(force_rw_sys|fuse|keyctl|mknod|nesting|mount)=[A-Za-z0-9;]+(,(force_rw_sys|fuse|keyctl|mknod|nesting|mount)=[A-Za-z0-9;]+)*$/,
        "key=value pairs of pct features",
      ),
    ),
    tags: _default(array(tag), []),
    timeoutSeconds: _default(number().check(positive(), maximum(3600)), 300),
    /** Where Proxmox keeps CT configs (/etc/pve/lxc links to this node's directory). */
    confDir: _default(absolutePath, "/etc/pve/lxc"),
    /** Where Proxmox keeps the configs' flock files. */
    lockDir: _default(absolutePath, "/run/lock/lxc"),
  });
}

/** backends."proxmox-lxc" in the config file. */
export const proxmoxLxcSettingsSchema = lazy(buildSettingsSchema);

export type ProxmoxLxcSettings = output<typeof proxmoxLxcSettingsSchema>;
