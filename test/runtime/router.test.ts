import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { globMatch, route } from "../../src/runtime/router.js";

const config = parseConfig(
  {
    defaultBackend: "crun",
    routing: [
      { name: "web", id: "web-*", backend: "runc" },
      { idRegex: "^(kube-ovn-.*|cilium-.*)$", backend: "crun" },
      { idRegex: "^db-[0-9]+$", backend: "runc" },
      { name: "gpu", annotations: { "org.example/class": "gpu-*" }, backend: "runc" },
      { name: "both", id: "mix-*", annotations: { tier: "back" }, backend: "runc" },
      { id: "any?", backend: "runc" },
    ],
  },
  "test",
);

describe("globMatch", () => {
  it.each([
    ["web-*", "web-01", true],
    ["web-*", "web-", true],
    ["web-*", "xweb-01", false],
    ["*", "", true],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    [".*", "abc", false],
    [".*", ".x", true],
    ["a+b", "a+b", true],
    ["a+b", "aab", false],
  ])("%j ~ %j = %s", (p, t, r) => expect(globMatch(p, t)).toBe(r));
});

describe("route", () => {
  it.each([
    ["web-01", {}, "runc", "routing rule web"],
    ["kube-ovn-1", {}, "crun", "routing rule #2"],
    ["cilium-x", {}, "crun", "routing rule #2"],
    ["db-12", {}, "runc", "routing rule #3"],
    ["db-12x", {}, "crun", "defaultBackend"],
    ["x", { "org.example/class": "gpu-large" }, "runc", "routing rule gpu"],
    ["x", { "org.example/class": "cpu" }, "crun", "defaultBackend"],
    ["mix-1", { tier: "back" }, "runc", "routing rule both"],
    ["mix-1", { tier: "front" }, "crun", "defaultBackend"],
    ["anyX", {}, "runc", "routing rule #6"],
    ["web-01", { "org.nexcage.backend": "crun" }, "crun", "annotation org.nexcage.backend"],
    ["plain", { "org.nexcage.backend": "proxmox-lxc" }, "proxmox-lxc", "annotation org.nexcage.backend"],
    ["plain", {}, "crun", "defaultBackend"],
  ] as const)("%s %j → %s", (id, ann, backend, reason) => {
    expect(route(id, ann, config)).toEqual({ backend, reason });
  });

  describe("root", () => {
    const byRoot = parseConfig(
      {
        routing: [
          { name: "pods-as-cts", root: "/run/nexcage-pct*", backend: "proxmox-lxc" },
          { name: "root-and-id", root: "/run/other", id: "x-*", backend: "runc" },
        ],
      },
      "t",
    );
    it.each([
      ["p", {}, "/run/nexcage-pct/k8s.io", "proxmox-lxc", "routing rule pods-as-cts"],
      ["p", {}, "/run/nexcage-pct", "proxmox-lxc", "routing rule pods-as-cts"],
      ["p", {}, "/run/nexcage", "crun", "defaultBackend"],
      ["p", {}, "/run/containerd/runc/k8s.io", "crun", "defaultBackend"],
      ["p", {}, undefined, "crun", "defaultBackend"],
      ["x-1", {}, "/run/other", "runc", "routing rule root-and-id"],
      ["y-1", {}, "/run/other", "crun", "defaultBackend"],
      ["x-1", {}, "/run/other/k8s.io", "crun", "defaultBackend"],
      ["p", { "org.nexcage.backend": "runc" }, "/run/nexcage-pct/k8s.io", "runc", "annotation org.nexcage.backend"],
    ] as const)("%s %j root %s → %s", (id, ann, root, backend, reason) => {
      expect(route(id, ann, byRoot, root)).toEqual({ backend, reason });
    });
  });

  it("first matching rule wins", () => {
    const c = parseConfig({ routing: [{ id: "a*", backend: "runc" }, { id: "ab*", backend: "crun" }] }, "t");
    expect(route("abc", {}, c).backend).toBe("runc");
  });

  it("defaultBackend applies when no rule matches", () => {
    expect(route("zzz", {}, parseConfig({ defaultBackend: "runc" }, "t"))).toEqual({ backend: "runc", reason: "defaultBackend" });
  });

  it("refuses an annotation naming no backend", () => {
    expect(() => route("x", { "org.nexcage.backend": "docker" }, config)).toThrowError(/names no backend/);
  });
});
