import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QmError, qmError, type QmErrorKind } from "../../src/backends/proxmox-vm/qm-errors.js";
import { isOneLine, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

const KINDS: readonly QmErrorKind[] = ["vmid-taken", "vm-missing", "template-missing", "not-running", "already-running", "running", "paused", "locked", "is-template", "shutdown-timeout", "storage-missing", "storage-no-images", "image-missing", "snippet-missing", "linked-clone", "parameters", "other"];

/** Real qm/pvesh messages; `@` is replaced by fuzzed text. */
const MESSAGES = [
  "unable to create VM @ - VM @ already exists on node '@'",
  "unable to create VM @: config file already exists",
  "Configuration file 'nodes/@/qemu-server/@.conf' does not exist",
  "unable to find configuration file for VM @ on node '@'",
  "VM @ already running",
  "VM @ is running - destroy failed",
  "VM is locked (@)",
  "VM quit/powerdown failed - got timeout",
  "storage '@' does not support vm images",
  "can't find file '@:snippets/@'",
  "can't find file '@'",
  "@ is not in the snippets directory",
  "Linked clone feature is not supported for '@' (@)",
  "400 Parameter verification failed.\n@: @\nipconfig0: invalid format\n\nqm create <vmid> [OPTIONS]\n",
  "@\n\n@\n",
  "",
];
const stderrArb = fc.oneof(
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...MESSAGES), fc.array(nastyString(20), { minLength: 3, maxLength: 3 }), fc.constantFrom("", "\n", "\r\n")).map(([t, fills, pad]) => {
      let i = 0;
      return `${pad}${t.replace(/@/g, () => fills[i++ % 3]!)}${pad}`;
    }),
  },
);
const ctxArb = fc.record({ vmid: fc.option(fc.integer({ min: 100, max: 999_999_999 }), { nil: undefined }), template: fc.option(fc.integer({ min: 100, max: 999_999_999 }), { nil: undefined }) });

describe("fuzz: qmError", () => {
  it("any stderr: a QmError of a known kind, one line, starting with the operation, in bounded time", { timeout: timeoutFor(2000, 1) }, () => {
    fc.assert(
      fc.property(stderrArb, fc.constantFrom("create failed", "kill failed"), ctxArb, (stderr, what, ctx) => {
        const e = withinMs(2000, "qmError", () => qmError(what, stderr, 255, ctx));
        expect(e).toBeInstanceOf(QmError);
        expect(KINDS).toContain(e.kind);
        expect(e.message.startsWith(`${what}: `)).toBe(true);
        expect(isOneLine(e.message), JSON.stringify(e.message)).toBe(true);
      }),
      params(2000),
    );
  });
});
