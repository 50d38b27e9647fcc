import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { containerCgroupDirs } from "../../src/backends/cgroup-paths.js";
import { params } from "./_fuzz.js";

/**
 * What a failed create's cleanup may kill and remove (issue 16, item 5): whatever the spec's
 * cgroupsPath, the id, the mounts and our own cgroups, a named directory is strictly inside one
 * mounted hierarchy, never that hierarchy's root, never our own cgroup or one of its ancestors.
 */
const segment = fc.constantFrom("a", "b", "web", "..", ".", "lxc", "init.scope", "user.slice", "");
const cgPath = fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join("/")}`);
const CONTROLLERS = [["cpu", "cpuacct"], ["memory"], ["name=systemd"], ["pids"], ["net_cls", "net_prio"]];

/** A controller is in one hierarchy, a hierarchy at one mount point; a v2 hierarchy at most once (the first). */
const mounts = fc
  .array(fc.record({ v2: fc.boolean(), root: cgPath, spaced: fc.boolean() }), { minLength: 1, maxLength: CONTROLLERS.length })
  .map((ms) => ms.map((m, i) => ({ v2: m.v2 && i === 0, ctrl: CONTROLLERS[i]!, root: m.root, at: `/sys/fs/cgroup/${m.spaced ? "m g" : "m"}${i}` })));

describe("containerCgroupDirs, fuzzed", () => {
  it("never names a hierarchy root, our cgroup or its ancestors, nor anything outside a mount", () => {
    fc.assert(
      fc.property(
        mounts,
        fc.array(cgPath, { minLength: 1, maxLength: 5 }),
        fc.option(fc.oneof(cgPath, cgPath.map((p) => p.slice(1))), { nil: undefined }),
        fc.constantFrom("web", "a", "init.scope", "x.y"),
        fc.constantFrom("root" as const, "caller" as const),
        (mounts, ownPaths, cgroupsPath, id, base) => {
          const mountinfo = mounts
            .map((m, i) => `${30 + i} 1 0:${40 + i} ${m.root} ${m.at.replace(" ", "\\040")} rw - ${m.v2 ? "cgroup2 cgroup2 rw" : `cgroup cgroup rw,${m.ctrl.join(",")}`}`)
            .join("\n");
          const self = mounts.map((m, i) => `${m.v2 ? 0 : i + 1}:${m.v2 ? "" : m.ctrl.join(",")}:${ownPaths[i % ownPaths.length]}`).join("\n");
          const dirs = containerCgroupDirs(mountinfo, self, { id, cgroupsPath, base });
          for (const d of dirs) {
            const m = mounts.find((m) => d.startsWith(`${m.at}/`));
            expect(m, d).toBeDefined();
            expect(d.split("/")).not.toContain("..");
            // our own cgroups as seen through the mounts are never the named directory or below it
            for (const [i, mm] of mounts.entries()) {
              const own = ownPaths[i % ownPaths.length]!;
              const rootP = mm.root === "/" ? "" : mm.root.replace(/\/+$/, "");
              if (rootP !== "" && !own.startsWith(`${rootP}/`) && own !== rootP) continue;
              const ownDir = `${mm.at}${own.slice(rootP.length)}`.replace(/\/+$/, "");
              if (mm.at === m!.at) expect(ownDir === d || ownDir.startsWith(`${d}/`), `${d} holds ${ownDir}`).toBe(false);
            }
          }
        },
      ),
      params(500),
    );
  });
});
