import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import { MAX_ID_LENGTH, validateContainerId } from "../../src/oci/id.js";
import { parseSignal, type Signal } from "../../src/oci/signals.js";
import { isOneLine, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

const NAMES = ["HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS", "RTMIN", "RTMAX"];

const randomCase = (s: string, mask: number) => [...s].map((c, i) => ((mask >> i % 31) & 1 ? c.toLowerCase() : c)).join("");

/** Signal-looking strings: names with/without SIG in any case, RT offsets, numbers, padding, junk. */
const signalLike: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  nastyString(16),
  fc.nat({ max: 200 }).map(String),
  fc.tuple(fc.constantFrom("", "0", "00", "-", "+", " "), fc.integer({ min: -5, max: 130 })).map(([p, n]) => `${p}${n}`),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
  fc.tuple(
    fc.constantFrom("", "SIG", "sig", "Sig", "SIG_", "S", "SIGSIG"),
    fc.constantFrom(...NAMES),
    fc.constantFrom("", "+", "-", "+0", "-0", "++", "+-"),
    fc.option(fc.integer({ min: -3, max: 120 }), { nil: undefined }),
    fc.nat(),
    fc.constantFrom("", " ", "\t", "\n", "\u00a0", "x", "\0"),
  ).map(([pre, name, sign, n, mask, pad]) => `${pad}${randomCase(pre + name, mask)}${sign}${n ?? ""}${pad}`),
);

function checkSignal(sig: Signal): void {
  expect(Number.isInteger(sig.number)).toBe(true);
  expect(sig.number).toBeGreaterThanOrEqual(1);
  expect(sig.number).toBeLessThanOrEqual(64);
  expect([32, 33]).not.toContain(sig.number);
  expect(sig.name).toMatch(/^SIG[A-Z0-9+]+$/);
  expect(parseSignal(sig.name)).toEqual(sig);
  expect(parseSignal(String(sig.number))).toEqual(sig);
}

describe("fuzz: parseSignal", () => {
  it("any string: a signal 1..64 (not 32/33) whose canonical name parses back, or InvalidArgumentError 'unknown signal'", { timeout: timeoutFor(2000, 1) }, () => {
    fc.assert(
      fc.property(signalLike, (input) => {
        let sig: Signal;
        try {
          sig = withinMs(2000, `parseSignal(${JSON.stringify(input)})`, () => parseSignal(input));
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidArgumentError);
          expect((e as Error).message.startsWith("unknown signal ")).toBe(true);
          expect(isOneLine((e as Error).message)).toBe(true);
          return;
        }
        checkSignal(sig);
      }),
      params(2000),
    );
  });

  it("every number 1..64 except 32 and 33 parses as itself (with leading zeros and padding); the rest do not", { timeout: timeoutFor(500, 1) }, () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 300 }), fc.constantFrom("", "0", "000"), fc.constantFrom("", " ", "\t"), (n, zeros, pad) => {
        const text = `${pad}${n < 0 ? "-" : zeros}${Math.abs(n)}${pad}`;
        if (n >= 1 && n <= 64 && n !== 32 && n !== 33) {
          const sig = parseSignal(text);
          expect(sig.number).toBe(n);
          checkSignal(sig);
        } else {
          expect(() => parseSignal(text)).toThrow(InvalidArgumentError);
        }
      }),
      params(500),
    );
  });
});

const ID_CHARS = [..."abcXYZ019_+-."];
const idLike: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 20 }),
  nastyString(20),
  fc.array(fc.constantFrom(...ID_CHARS), { maxLength: 140 }).map((a) => a.join("")),
  fc.array(fc.constantFrom(...ID_CHARS), { minLength: 120, maxLength: 260 }).map((a) => a.join("")),
  fc.constantFrom(".", "..", "...", "./a", "a/..", "-", "+", "a\0", "a b", "a\n", "\u0430", "ａ", "a".repeat(128), "a".repeat(129)),
  fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom("/", "\0", " ", "\t", "\n", "\r", "\u00a0", "\u2028"), fc.string({ maxLength: 8 })).map(([a, c, b]) => `a${a}${c}${b}`),
);

describe("fuzz: validateContainerId", () => {
  it("accepts exactly /^[A-Za-z0-9_+\\-.]{1,128}$/ minus . and ..; rejects with InvalidArgumentError", { timeout: timeoutFor(3000, 1) }, () => {
    fc.assert(
      fc.property(idLike, (id) => {
        const expected = /^[A-Za-z0-9_+\-.]{1,128}$/.test(id) && id !== "." && id !== "..";
        let accepted: boolean;
        try {
          expect(validateContainerId(id)).toBe(id);
          accepted = true;
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidArgumentError);
          expect((e as Error).message).toMatch(/^invalid container ID format: /);
          expect(isOneLine((e as Error).message)).toBe(true);
          accepted = false;
        }
        expect(accepted).toBe(expected);
        if (/[/\0\s]/.test(id) || id.length > MAX_ID_LENGTH) expect(accepted).toBe(false);
      }),
      params(3000),
    );
  });
});
