import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planVm } from "../../src/backends/proxmox-vm/plan.js";
import { proxmoxVmSettingsSchema } from "../../src/backends/proxmox-vm/settings.js";
import { InvalidArgumentError, UnsupportedError } from "../../src/errors.js";
import { mutate, mutationArb, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

/**
 * The proxmox-vm plan turns bundle strings into a cloud-init document and a systemd unit. Whatever
 * the strings hold, they must stay data: the document keeps its fixed shape (no injected YAML key),
 * the unit keeps one ExecStart line and every qm option value keeps to one argv element.
 */
const settings = [proxmoxVmSettingsSchema.parse({ template: 9000 }), proxmoxVmSettingsSchema.parse({ image: "local:import/x.qcow2", fullClone: false, tags: ["a"] })];
const text = fc.oneof(fc.string({ maxLength: 12 }), nastyString(16), fc.constantFrom("a: b", "- x", "#x", '"', "\\", "%h", "$HOME", "'", "\u2028", "é", "{}", "[x]", "&a *a", "!!python/object"));
const specArb = fc.record({
  ociVersion: fc.constant("1.0.2"),
  process: fc.record({
    args: fc.array(text, { minLength: 1, maxLength: 4 }).map((a) => [`/bin/${a[0]!.replace(/[^a-z]/g, "") || "app"}`, ...a.slice(1)]),
    env: fc.array(fc.tuple(fc.constantFrom("A", "PATH", "_X"), text).map(([k, v]) => `${k}=${v}`), { maxLength: 3 }),
    cwd: fc.oneof(fc.constant("/"), text.map((t) => `/${t}`)),
    user: fc.record({ uid: fc.nat(70000), gid: fc.nat(70000), additionalGids: fc.array(fc.nat(70000), { maxLength: 2 }) }),
  }),
  root: fc.constant({ path: "rootfs" }),
  hostname: fc.oneof(fc.constantFrom("app", "a.b", "x-1"), text),
  linux: fc.constant({ namespaces: [{ type: "network" }, { type: "pid" }] }),
});
const idArb = fc.stringMatching(/^[A-Za-z0-9_+.-]{1,20}$/);
const LINE = /^(#cloud-config|# nexcage OCI container ".*"|hostname: ".*"|preserve_hostname: false|write_files:|  - path: ".*"|    permissions: "0(?:644|755)"|    content: ".*"|runcmd:|  - \[.*\])$/;

describe("fuzz: proxmox-vm plan keeps bundle strings as data", () => {
  it(
    "user-data lines keep their shape, every quoted value parses back, the unit has one ExecStart; or a clean refusal",
    () => {
      fc.assert(
        fc.property(specArb, idArb, fc.constantFrom(...settings), fc.array(mutationArb, { maxLength: 2 }), (spec, id, s, mutations) => {
          const doc = mutations.length === 0 ? spec : mutate(spec, mutations);
          let plan;
          try {
            plan = withinMs(2000, "planVm", () => planVm({ id, bundlePath: "/b", spec: doc, settings: s, consoleSocket: false, snippetFile: "f.yaml" }));
          } catch (e) {
            expect(e instanceof InvalidArgumentError || e instanceof UnsupportedError, String(e)).toBe(true);
            expect((e as Error).message).not.toMatch(/[\n\r]/);
            return;
          }
          const lines = plan.userData.replace(/\n$/, "").split("\n");
          for (const l of lines) expect(l, l).toMatch(LINE);
          for (const l of lines) {
            const q = /^(?:hostname|  - path|    permissions|    content): (".*")$/.exec(l)?.[1];
            if (q !== undefined) expect(typeof JSON.parse(q)).toBe("string");
            const list = /^  - (\[.*\])$/.exec(l)?.[1];
            if (list !== undefined) expect(Array.isArray(JSON.parse(list))).toBe(true);
          }
          const unit = JSON.parse(/\n {4}content: (".*")\n/.exec(plan.userData)![1]!) as string;
          expect(unit.split("\n").filter((l) => l.startsWith("ExecStart=")).length).toBe(1);
          expect(unit.split("\n").filter((l) => /^\[(Unit|Service)\]$/.test(l)).length).toBe(2);
          for (const argv of plan.commands(123)) for (const a of argv) expect(typeof a).toBe("string");
        }),
        params(300),
      );
    },
    timeoutFor(300, 20),
  );
});
