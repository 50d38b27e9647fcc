import { describe, expect, it } from "vitest";
import { checkRecord } from "../../src/state/record-check.js";
import { recordSchema } from "../../src/state/record.js";

// checkRecord is the hand-written check store.ts uses; recordSchema is the definition. For every
// document below both must agree: the same record (same keys, same order) or both a refusal.

const base = {
  ociVersion: "1.0.2",
  id: "c1",
  status: "running",
  pid: 42,
  bundle: "/b",
  rootfs: "/b/rootfs",
  created: "2026-12-02T00:00:00Z",
  owner: "root",
  annotations: { a: "1" },
  nexcage: {
    backend: "crun",
    ref: { root: "/run/nexcage/crun", nested: { x: [1] } },
    routeReason: "defaultBackend",
    pidStartTime: "123",
    configSource: "/etc/nexcage/config.json",
    image: { reference: "docker.io/library/busybox:latest", digest: "sha256:00" },
    creator: { pid: 7, startTime: "99" },
  },
};

type Doc = Record<string, unknown>;
const withTop = (patch: Doc): Doc => ({ ...base, ...patch });
const withNx = (patch: Doc): Doc => ({ ...base, nexcage: { ...base.nexcage, ...patch } });
const without = (doc: Doc, key: string): Doc => Object.fromEntries(Object.entries(doc).filter(([k]) => k !== key));
const withoutNx = (key: string): Doc => ({ ...base, nexcage: without(base.nexcage, key) });

const cases: [string, unknown][] = [
  ["valid, every field", base],
  ["valid, optional fields absent", { ...without(base, "annotations"), nexcage: without(without(without(without(base.nexcage, "image"), "creator"), "pidStartTime"), "x") }],
  ["valid, unknown keys dropped", { ...withTop({ extra: 1 }), nexcage: { ...base.nexcage, more: true, image: { reference: "r", other: 2 } } }],
  ["valid, keys in another order", Object.fromEntries(Object.entries(base).reverse())],
  ["every status", withTop({ status: "creating" })],
  ["paused", withTop({ status: "paused" })],
  ["pid 0", withTop({ pid: 0 })],
  ["each backend", withNx({ backend: "proxmox-vm" })],
  ["empty annotations", withTop({ annotations: {} })],
  ["not an object", "x"],
  ["null", null],
  ["array", [base]],
  ["missing id", without(base, "id")],
  ["id a number", withTop({ id: 1 })],
  ["unknown status", withTop({ status: "exited" })],
  ["negative pid", withTop({ pid: -1 })],
  ["fractional pid", withTop({ pid: 1.5 })],
  ["pid a string", withTop({ pid: "42" })],
  ["pid beyond safe integers", withTop({ pid: 2 ** 60 })],
  ["annotations with a number", withTop({ annotations: { a: 1 } })],
  ["annotations null", withTop({ annotations: null })],
  ["annotations an array", withTop({ annotations: ["a"] })],
  ["missing owner", without(base, "owner")],
  ["missing nexcage", without(base, "nexcage")],
  ["nexcage an array", withTop({ nexcage: [] })],
  ["unknown backend", withNx({ backend: "docker" })],
  ["ref an array", withNx({ ref: [] })],
  ["ref null", withNx({ ref: null })],
  ["missing routeReason", withoutNx("routeReason")],
  ["missing configSource", withoutNx("configSource")],
  ["pidStartTime a number", withNx({ pidStartTime: 123 })],
  ["image without reference", withNx({ image: { digest: "d" } })],
  ["image digest a number", withNx({ image: { reference: "r", digest: 1 } })],
  ["image null", withNx({ image: null })],
  ["creator pid 0", withNx({ creator: { pid: 0, startTime: "1" } })],
  ["creator without startTime", withNx({ creator: { pid: 3 } })],
  ["creator a string", withNx({ creator: "me" })],
  ["a pod container", withNx({ pod: { sandbox: "sb1", vmid: 105, cgroup: "/lxc/105" } })],
  ["pod with an object value", withNx({ pod: { sandbox: { id: "x" } } })],
  ["pod null", withNx({ pod: null })],
];

describe("checkRecord agrees with recordSchema", () => {
  it.each(cases)("%s", (_, doc) => {
    const expected = recordSchema.safeParse(doc);
    const got = checkRecord(doc);
    if (expected.success) {
      expect(got).toEqual(expected.data);
      expect(JSON.stringify(got)).toBe(JSON.stringify(expected.data));
    } else {
      expect(got).toBeUndefined();
    }
  });

  it("the table covers both outcomes", () => {
    const outcomes = cases.map(([, doc]) => recordSchema.safeParse(doc).success);
    expect(outcomes.filter(Boolean).length).toBeGreaterThanOrEqual(8);
    expect(outcomes.filter((ok) => !ok).length).toBeGreaterThanOrEqual(20);
  });
});
