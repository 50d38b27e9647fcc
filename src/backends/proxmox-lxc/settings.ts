import { _default, array, boolean, enum as zEnum, lazy, maximum, number, optional, positive, regex, strictObject, string, type output } from "zod/mini";
import { absolutePath, seconds } from "../../config/values.js";
import { bridgeName, ipv4, ipv4Config, storageId, tag, vmidRange } from "../proxmox/pve-schema.js";

/** Built on first use, like the config schema it is part of. */
function buildSettingsSchema() {
  return strictObject({
    pct: _default(absolutePath(), "/usr/sbin/pct"),
    pvesh: _default(absolutePath(), "/usr/bin/pvesh"),
    /** Storage for the CT's root filesystem (needs `rootdir` content). */
    storage: _default(storageId(), "local-lvm"),
    rootfsSizeGiB: _default(number().check(positive(), maximum(131072)), 4),
    /** Storage whose `vztmpl` content receives the template archive made from the bundle. */
    templateStorage: _default(storageId(), "local"),
    /** That storage's template directory. */
    templateDir: _default(absolutePath(), "/var/lib/vz/template/cache"),
    bridge: _default(bridgeName(), "vmbr0"),
    /** net0 ip: `dhcp`, `manual` or an address in CIDR form. */
    ip: _default(ipv4Config(), "dhcp"),
    gateway: optional(ipv4()),
    vmidRange: optional(vmidRange()),
    unprivileged: _default(boolean(), true),
    ostype: _default(
      string().check(regex(/^(alpine|archlinux|centos|debian|devuan|fedora|gentoo|nixos|opensuse|ubuntu|unmanaged)$/, "a Proxmox ostype")),
      "unmanaged",
    ),
    /** pct --features, e.g. "nesting=1,keyctl=1". */
    features: optional(
      string().check(
        regex(
          /^(force_rw_sys|fuse|keyctl|mknod|nesting|mount)=[A-Za-z0-9;]+(,(force_rw_sys|fuse|keyctl|mknod|nesting|mount)=[A-Za-z0-9;]+)*$/,
          "key=value pairs of pct features",
        ),
      ),
    ),
    tags: _default(array(tag()), []),
    timeoutSeconds: seconds(300),
    /**
     * create --image with an OCI archive in template storage: `unpack` (nexcage unpacks it and maps its
     * config, any PVE version) or `pct` (the archive goes to `pct create`, which maps it; PVE >= 9.1).
     */
    ociImages: _default(zEnum(["unpack", "pct"]), "unpack"),
    /** Where Proxmox keeps CT configs (/etc/pve/lxc links to this node's directory). */
    confDir: _default(absolutePath(), "/etc/pve/lxc"),
    /** Where Proxmox keeps the configs' flock files. */
    lockDir: _default(absolutePath(), "/run/lock/lxc"),
    /**
     * Containers created with --pid-file or --console-socket (containerd's shim): per CT a directory
     * `<runDir>/<vmid>-<digest>` bind-mounted into it, holding the init helper and the socket its stdio comes
     * through. Every directory above it must be searchable by the CT's mapped users.
     */
    runDir: _default(absolutePath(), "/run/nexcage-ct"),
    /** The static helper (packaging/ct-init); default: /usr/lib/nexcage, else this checkout's build. */
    ctInit: optional(absolutePath()),
  });
}

/** backends."proxmox-lxc" in the config file. */
export const proxmoxLxcSettingsSchema = lazy(buildSettingsSchema);

export type ProxmoxLxcSettings = output<typeof proxmoxLxcSettingsSchema>;
