import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PctError, pctError } from "../../src/backends/proxmox-lxc/pct-errors.js";
import { BackendError } from "../../src/errors.js";
import { isOneLine, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

const KINDS = ["vmid-taken", "ct-missing", "not-running", "already-running", "locked", "storage-missing", "storage-no-rootdir", "template-missing", "parameters", "running", "other"];

/** Templates of real pct/pvesh messages; `@` is replaced by fuzzed text. */
const TEMPLATES = [
  "CT @ already exists on node '@'",
  "VM 101 already exists on node '@'",
  "create failed - atomic file '@/101.conf' failed: File exists",
  "400 Parameter verification failed.\nvmid: VM @ already exists\n",
  "Configuration file 'nodes/pve/lxc/@.conf' does not exist",
  "CT 101 already running",
  "CT @ not running",
  "unable to destroy CT 101 - container is running",
  "CT is locked (@)",
  "storage '@' does not support container directories",
  "storage '@' does not exist",
  "storage '@' is disabled",
  "storage '@' is not available on node '@'",
  "can't find file '@'",
  "unable to use volume @ - content type needs to be 'vztmpl'",
  "400 Parameter verification failed.\n@: @\nnet0: invalid format\n\npct create <vmid> <ostemplate> [OPTIONS]\n",
  "@\n\n@\n",
  "",
];

const fill = nastyString(20);
const stderrArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 100 }) },
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom(...TEMPLATES), fc.array(fill, { minLength: 3, maxLength: 3 }), fc.constantFrom("", "\n", "\r\n", "  \n\t"), fc.string({ maxLength: 20 })).map(([t, fills, pad, noise]) => {
      let i = 0;
      return `${noise}${pad}${t.replace(/@/g, () => fills[i++ % fills.length]!)}${pad}`;
    }),
  },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...TEMPLATES), { maxLength: 4 }).map((a) => a.join("\n")) },
);

const args = fc.tuple(stderrArb, fc.constantFrom("create failed", "start failed", "destroy failed"), fc.option(fc.integer({ min: -1, max: 255 }), { nil: undefined }), fc.option(fc.integer({ min: 100, max: 999_999_999 }), { nil: undefined }));

function call(stderr: string, what: string, code: number | undefined, vmid: number | undefined): PctError {
  return withinMs(2000, "pctError", () => pctError(what, stderr, code, vmid));
}

describe("fuzz: pctError", () => {
  it("any stderr: a PctError (BackendError) of a known kind whose message starts with the operation", { timeout: timeoutFor(2000, 1) }, () => {
    fc.assert(
      fc.property(args, ([stderr, what, code, vmid]) => {
        const e = call(stderr, what, code, vmid);
        expect(e).toBeInstanceOf(PctError);
        expect(e).toBeInstanceOf(BackendError);
        expect(KINDS).toContain(e.kind);
        expect(e.message.startsWith(`${what}: `)).toBe(true);
        expect(e.message.length).toBeGreaterThan(what.length + 2);
      }),
      params(2000),
    );
  });

  it("the message is one line", { timeout: timeoutFor(2000, 1) }, () => {
    fc.assert(
      fc.property(args, ([stderr, what, code, vmid]) => {
        const e = call(stderr, what, code, vmid);
        expect(isOneLine(e.message), JSON.stringify(e.message)).toBe(true);
      }),
      params(2000),
    );
  });
});
