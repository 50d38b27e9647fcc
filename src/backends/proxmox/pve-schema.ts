import { int, maximum, minimum, refine, regex, strictObject, string } from "zod/mini";

/**
 * zod/mini pieces for the settings of both Proxmox backends (Proxmox's own value rules). Functions,
 * not constants: a schema is built only when the settings schema that uses it is (on first use).
 */

/** Proxmox storage ids: `[a-z][a-z0-9\-_.]*[a-z0-9]` (case-insensitive). */
export const STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
export const storageId = () => string().check(regex(STORAGE_ID, "not a valid Proxmox storage id"));
/** Linux bridge / interface names: at most 15 characters, no '/', ',', '=' or white space. */
export const bridgeName = () => string().check(regex(/^[A-Za-z0-9_.:-]{1,15}$/, "not a valid bridge name"));
export const vmid = () => int().check(minimum(100), maximum(999_999_999));
/** Proxmox tags: `[a-z0-9_][a-z0-9_\-+.]*`. */
export const tag = () => string().check(regex(/^[a-z0-9_][a-z0-9_\-+.]*$/, "not a valid Proxmox tag"));
/** Pure: a dotted-quad IPv4 address whose four numbers are 0-255 (what Proxmox's `ipv4` format takes). */
export function isIpv4(v: string): boolean {
  const parts = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(v);
  return parts !== null && parts.slice(1).every((n) => Number(n) <= 255);
}
/** Pure: `dhcp`, `manual` or an IPv4 address with a prefix length of 0-32 (Proxmox's `ipv4/cidr`). */
export function isIpv4Config(v: string): boolean {
  if (v === "dhcp" || v === "manual") return true;
  const m = /^([^/]+)\/([0-9]{1,2})$/.exec(v);
  return m !== null && isIpv4(m[1]!) && Number(m[2]) <= 32;
}
/** An IPv4 address config: `dhcp`, `manual` or an address in CIDR form. Checked here, before anything is made: qm would refuse it only once the guest exists. */
// the regex keeps the shape in docs/config.schema.json (editors check it); the refine checks the numbers
export const ipv4Config = () => string().check(regex(/^(dhcp|manual|[0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2})$/, { message: "dhcp, manual or IPv4/CIDR", abort: true }), refine(isIpv4Config, { message: "dhcp, manual or IPv4/CIDR" }));
export const ipv4 = () => string().check(regex(/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/, { message: "an IPv4 address", abort: true }), refine(isIpv4, { message: "an IPv4 address" }));
export const vmidRange = () => strictObject({ min: vmid(), max: vmid() }).check(refine((r) => r.min <= r.max, { message: "min must not exceed max" }));
