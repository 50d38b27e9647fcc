import { number, strictObject, string } from "zod";

/** zod pieces for the settings of both Proxmox backends (Proxmox's own value rules). */

export const absolutePath = string().min(1).refine((p) => p.startsWith("/") && !p.includes("\0"), { message: "must be an absolute path" });
/** Proxmox storage ids: `[a-z][a-z0-9\-_.]*[a-z0-9]` (case-insensitive). */
export const STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
export const storageId = string().regex(STORAGE_ID, "not a valid Proxmox storage id");
/** Linux bridge / interface names: at most 15 characters, no '/', ',', '=' or white space. */
export const bridgeName = string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, "not a valid bridge name");
export const vmid = number().int().min(100).max(999_999_999);
/** Proxmox tags: `[a-z0-9_][a-z0-9_\-+.]*`. */
export const tag = string().regex(/^[a-z0-9_][a-z0-9_\-+.]*$/, "not a valid Proxmox tag");
/** An IPv4 address config: `dhcp`, `manual` or an address in CIDR form. */
export const ipv4Config = string().regex(/^(dhcp|manual|[0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2})$/, "dhcp, manual or IPv4/CIDR");
export const ipv4 = string().regex(/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/, "an IPv4 address");
export const vmidRange = strictObject({ min: vmid, max: vmid }).refine((r) => r.min <= r.max, { message: "min must not exceed max" });
