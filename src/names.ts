// The names every layer shares, at the bottom of the house: nothing here imports anything, so
// state/, oci/, config/, runtime/ and backends/ all read them from one place.

/** OCI runtime-spec statuses (plus `paused`, which runc and crun report too; `creating` is nexcage's own while a create runs). */
export const STATUSES = ["creating", "created", "running", "paused", "stopped"] as const;
export type Status = (typeof STATUSES)[number];

/** Every backend nexcage knows (config, routing, records); a list of names, nothing loaded. */
export const BACKEND_NAMES = ["crun", "runc", "proxmox-lxc", "proxmox-vm"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
