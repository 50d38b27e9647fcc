/** Naming rules shared by the Proxmox backends (CTs and VMs follow the same cluster-wide rules). */

const DNS_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/** Proxmox's dns-name rule (CT --hostname, VM --name). */
export function isDnsName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name.split(".").every((l) => l.length <= 63 && DNS_LABEL.test(l));
}

/** A DNS-safe name from a container id: lower case, other characters to '-', at most 63. */
export function hostnameFromId(id: string, fallback = "ct"): string {
  const h = id.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  return h === "" ? fallback : h;
}

/** The first description line of the guest made for an OCI id: how nexcage recognises its own guests. */
export function descriptionLine(id: string): string {
  return `nexcage OCI container ${id}`;
}

/**
 * Whether a guest config (/etc/pve/lxc/<vmid>.conf, /etc/pve/qemu-server/<vmid>.conf) is the one
 * made for `id`: its description (the leading `#` lines) holds exactly that line, so `web` never
 * claims the guest of `web-1`.
 */
export function configIsFor(conf: string, id: string): boolean {
  return conf.split("\n").includes(`#${descriptionLine(id)}`);
}
