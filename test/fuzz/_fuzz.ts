/**
 * Shared settings for the fuzz properties in test/fuzz.
 *
 * CI: a fixed seed and a small number of runs per property (the `ci` argument of `params`).
 * Long runs: `node scripts/fuzz.mjs` sets FUZZ_RUNS (default 10000) and a random FUZZ_SEED, printed
 * so a failure can be replayed with `FUZZ_SEED=<seed> FUZZ_RUNS=<n> npx vitest run test/fuzz`.
 */
import vm from "node:vm";
import fc from "fast-check";

export const SEED = process.env["FUZZ_SEED"] !== undefined && process.env["FUZZ_SEED"] !== "" ? Number(process.env["FUZZ_SEED"]) : 20_250_101;
const BIG = process.env["FUZZ_RUNS"] !== undefined && process.env["FUZZ_RUNS"] !== "" ? Number(process.env["FUZZ_RUNS"]) : undefined;

/** True during a long run (FUZZ_RUNS set). */
export const LONG_RUN = BIG !== undefined;

/** Runs for one property: `ci` in CI, FUZZ_RUNS (capped at `cap`) in a long run. */
export function runs(ci: number, cap = Number.POSITIVE_INFINITY): number {
  return BIG === undefined ? ci : Math.max(1, Math.min(BIG, cap));
}

/** fast-check parameters: fixed (or FUZZ_SEED) seed, `runs(ci, cap)` runs. */
export function params<T>(ci: number, extra: fc.Parameters<T> & { cap?: number } = {}): fc.Parameters<T> {
  const { cap, ...rest } = extra;
  return { seed: SEED, numRuns: runs(ci, cap), ...rest };
}

/** vitest timeout for a test running `ci` (or FUZZ_RUNS) runs of about `msPerRun` each. */
export function timeoutFor(ci: number, msPerRun: number, cap = Number.POSITIVE_INFINITY): number {
  return Math.max(60_000, runs(ci, cap) * msPerRun * (BIG === undefined ? 1 : 4) + 30_000);
}

/** One line: no line feed or carriage return (what the CLI prints after `nexcage: `). */
export function isOneLine(text: string): boolean {
  return !/[\n\r]/.test(text);
}

const guardContext = vm.createContext({ f: undefined as unknown });
const guardScript = new vm.Script("f()");

/**
 * Runs a synchronous function with a watchdog: a call that takes longer than `ms` is interrupted
 * (vm timeouts terminate any JavaScript, regular expressions included) and reported as a hang.
 */
export function withinMs<T>(ms: number, what: string, fn: () => T): T {
  guardContext["f"] = fn;
  try {
    return guardScript.runInContext(guardContext, { timeout: ms }) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") {
      throw new Error(`hang: ${what} did not return within ${ms} ms`);
    }
    throw e;
  } finally {
    guardContext["f"] = undefined;
  }
}

/** Keys that make objects misbehave when code reads `obj[key]` or assigns with `=`. */
export const NASTY_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "", " ", "a\nb", "a.b", "0", "-1"] as const;

export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY_KEYS) },
);

/** Characters that break line-based formats, parsers and quoting. */
export const NASTY_CHARS = ["\n", "\r", "\0", "\t", " ", "'", '"', "\\", ",", "=", ";", "#", "$", "`", "/", "..", "*", "?", "[", "(", "\u2028", "\u00a0", "\x7f", "\x1b", "é", "\ud800"] as const;

/** Strings biased towards the characters above. */
export const nastyString = (maxLength = 24): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.string({ maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength }) },
    { weight: 2, arbitrary: fc.array(fc.oneof(fc.constantFrom(...NASTY_CHARS), fc.string({ maxLength: 3 })), { maxLength: 8 }).map((a) => a.join("")) },
  );

export interface Mutation {
  readonly kind: "set" | "delete" | "rename" | "add";
  readonly at: number;
  readonly key: string;
  readonly value: unknown;
}

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("set", "delete", "rename", "add"),
  at: fc.nat(),
  key: keyArb,
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(null, true, 0, -1, 1.5, 1e308, "", [], {}, ["a"], "/", ".."),
    nastyString(),
  ),
});

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A deep copy of a JSON document with the mutations applied (wrong types, extra, renamed or missing keys). */
export function mutate(doc: unknown, mutations: readonly Mutation[]): unknown {
  const root: { doc: unknown } = { doc: JSON.parse(JSON.stringify(doc)) as unknown };
  for (const m of mutations) {
    const slots: Slot[] = [{ parent: root as unknown as Record<string, unknown>, key: "doc" }];
    const containers: Array<Record<string, unknown> | unknown[]> = [];
    const walk = (v: unknown) => {
      if (v === null || typeof v !== "object") return;
      containers.push(v as Record<string, unknown> | unknown[]);
      if (Array.isArray(v)) {
        v.forEach((item, i) => {
          slots.push({ parent: v, key: i });
          walk(item);
        });
      } else {
        for (const k of Object.keys(v)) {
          slots.push({ parent: v as Record<string, unknown>, key: k });
          walk((v as Record<string, unknown>)[k]);
        }
      }
    };
    walk(root.doc);
    const value = JSON.parse(JSON.stringify(m.value ?? null)) as unknown;
    if (m.kind === "add") {
      if (containers.length === 0) continue;
      const c = containers[m.at % containers.length]!;
      if (Array.isArray(c)) c.push(value);
      else setOwn(c, m.key, value);
      continue;
    }
    const slot = slots[m.at % slots.length]!;
    const p = slot.parent;
    if (m.kind === "set") {
      if (Array.isArray(p)) p[slot.key as number] = value;
      else setOwn(p, String(slot.key), value);
    } else if (m.kind === "delete") {
      if (p === (root as unknown)) root.doc = undefined;
      else if (Array.isArray(p)) p.splice(slot.key as number, 1);
      else delete p[String(slot.key)];
    } else if (!Array.isArray(p) && p !== (root as unknown)) {
      const v = p[String(slot.key)];
      delete p[String(slot.key)];
      setOwn(p, m.key, v);
    }
  }
  return root.doc;
}
