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
/** An IPv4 address config: `dhcp`, `manual` or an address in CIDR form. */
export const ipv4Config = () => string().check(regex(/^(dhcp|manual|[0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2})$/, "dhcp, manual or IPv4/CIDR"));
export const ipv4 = () => string().check(regex(/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/, "an IPv4 address"));
export const vmidRange = () => strictObject({ min: vmid(), max: vmid() }).check(refine((r) => r.min <= r.max, { message: "min must not exceed max" }));
