import { BACKEND_NAMES, STATUSES } from "../names.js";
import type { ContainerRecord } from "./record.js";

// The check of a state.json as read, written out by hand: building the zod schema of record.ts
// costs 4-6 ms of CPU per call under Bun, more than the rest of `state` (docs/performance.md).
// recordSchema stays the definition; test/state/record-check.test.ts checks that both accept and
// return the same documents.

type Doc = Record<string, unknown>;

const isObject = (v: unknown): v is Doc =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const isString = (v: unknown): v is string => typeof v === "string";
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

/** Copies the listed keys that are present (only those: unknown keys are dropped, as zod does). */
function pick(doc: Doc, keys: readonly string[]): Doc {
  const out: Doc = {};
  for (const k of keys) if (Object.hasOwn(doc, k)) out[k] = doc[k];
  return out;
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isObject(v) || !Object.values(v).every(isString)) return undefined;
  return { ...(v as Record<string, string>) };
}

function optional<T>(doc: Doc, key: string, check: (v: unknown) => T | undefined): { ok: boolean; value?: T } {
  if (!Object.hasOwn(doc, key)) return { ok: true };
  const value = check(doc[key]);
  return { ok: value !== undefined, value };
}

function image(v: unknown): Doc | undefined {
  if (!isObject(v) || !isString(v["reference"])) return undefined;
  for (const k of ["volid", "digest"]) if (Object.hasOwn(v, k) && !isString(v[k])) return undefined;
  return pick(v, ["reference", "volid", "digest"]);
}

function creator(v: unknown): Doc | undefined {
  if (!isObject(v) || !isInt(v["pid"]) || v["pid"] <= 0 || !isString(v["startTime"])) return undefined;
  return pick(v, ["pid", "startTime"]);
}

function pod(v: unknown): Doc | undefined {
  if (!isObject(v) || !Object.values(v).every((x) => isString(x) || (typeof x === "number" && Number.isFinite(x)))) return undefined;
  return { ...v };
}

function nexcage(v: unknown): Doc | undefined {
  if (!isObject(v)) return undefined;
  if (!(BACKEND_NAMES as readonly unknown[]).includes(v["backend"])) return undefined;
  if (!isObject(v["ref"]) || !isString(v["routeReason"]) || !isString(v["configSource"])) return undefined;
  if (Object.hasOwn(v, "pidStartTime") && !isString(v["pidStartTime"])) return undefined;
  const img = optional(v, "image", image);
  const who = optional(v, "creator", creator);
  const member = optional(v, "pod", pod);
  if (!img.ok || !who.ok || !member.ok) return undefined;
  const out = pick(v, ["backend", "ref", "routeReason", "pidStartTime", "configSource", "image", "pod", "creator"]);
  out["ref"] = { ...(v["ref"] as Doc) };
  if (img.value) out["image"] = img.value;
  if (who.value) out["creator"] = who.value;
  if (member.value) out["pod"] = member.value;
  return out;
}

/** The record in `doc` (unknown keys dropped), or undefined when it is not a valid record. */
export function checkRecord(doc: unknown): ContainerRecord | undefined {
  if (!isObject(doc)) return undefined;
  for (const k of ["ociVersion", "id", "bundle", "rootfs", "created", "owner"]) if (!isString(doc[k])) return undefined;
  if (!(STATUSES as readonly unknown[]).includes(doc["status"])) return undefined;
  if (!isInt(doc["pid"]) || doc["pid"] < 0) return undefined;
  const annotations = optional(doc, "annotations", stringMap);
  const owned = nexcage(doc["nexcage"]);
  if (!annotations.ok || !owned) return undefined;
  const out = pick(doc, ["ociVersion", "id", "status", "pid", "bundle", "rootfs", "created", "owner", "annotations", "nexcage"]);
  if (annotations.value) out["annotations"] = annotations.value;
  out["nexcage"] = owned;
  return out as unknown as ContainerRecord;
}
