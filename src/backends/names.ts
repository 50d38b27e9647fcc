/** Every backend nexcage knows (config, routing, records); a list of names, nothing loaded. */
export const BACKEND_NAMES = ["crun", "runc", "proxmox-lxc", "proxmox-vm"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
