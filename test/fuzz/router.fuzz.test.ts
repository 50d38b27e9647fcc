import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { BACKEND_NAMES, type BackendName } from "../../src/names.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { BACKEND_ANNOTATION, globMatch, route } from "../../src/runtime/router.js";
import { NASTY_KEYS, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

/** Reference glob matcher without regular expressions: `*` any run, `?` one UTF-16 unit, the rest literal. */
function oracleCU(pattern: string, text: string): boolean {
  let prev = new Array<boolean>(text.length + 1).fill(false);
  prev[0] = true;
  for (const p of pattern.split("")) {
    const cur = new Array<boolean>(text.length + 1).fill(false);
    if (p === "*") {
      let any = false;
      for (let j = 0; j <= text.length; j++) {
        any ||= prev[j]!;
        cur[j] = any;
      }
    } else {
      for (let j = 1; j <= text.length; j++) cur[j] = prev[j - 1]! && (p === "?" || p === text[j - 1]);
    }
    prev = cur;
  }
  return prev[text.length]!;
}

const META = [..."*?.+^${}()|[]\\/-", "\n", "\r", "\u2028", "\ud83d\ude00", "\ud800"];
const globArb = fc.oneof(
  fc.string({ maxLength: 12 }),
  nastyString(12),
  fc.array(fc.constantFrom(...META, "a", "b"), { maxLength: 12 }).map((a) => a.join("")),
);
const textArb = fc.oneof(fc.string({ maxLength: 16 }), nastyString(16), fc.array(fc.constantFrom(...META, "a", "b"), { maxLength: 16 }).map((a) => a.join("")));

describe("fuzz: globMatch", () => {
  it("never throws, and agrees with a regex-free reference matcher (metacharacters are literal)", { timeout: timeoutFor(3000, 1) }, () => {
    fc.assert(
      fc.property(globArb, textArb, fc.boolean(), (pattern, text, useText) => {
        // half the time, test a text built from the pattern so matches happen too
        const t = useText ? text : pattern.replace(/\*/g, "xy").replace(/\?/g, "q");
        const got = withinMs(1000, `globMatch(${JSON.stringify(pattern)}, ${JSON.stringify(t)})`, () => globMatch(pattern, t));
        expect(got).toBe(oracleCU(pattern, t));
      }),
      params(3000),
    );
  });

  it("returns within 500 ms for globs up to 24 characters and ids up to 128 (no catastrophic backtracking)", { timeout: timeoutFor(150, 600) }, () => {
    const idChars = fc.constantFrom("a", "a", "-", "b");
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("*", "*", "a", "-", "?"), { minLength: 1, maxLength: 24 }).map((a) => a.join("")),
        fc.array(idChars, { minLength: 32, maxLength: 128 }).map((a) => a.join("")),
        (pattern, id) => {
          withinMs(500, `globMatch(${JSON.stringify(pattern)}, ${JSON.stringify(id)})`, () => globMatch(pattern, id));
        },
      ),
      // a hang costs 500 ms per attempt: report the first one instead of shrinking it
      params(150, { endOnFailure: true }),
    );
  });
});

const backend = fc.constantFrom(...BACKEND_NAMES);
const annotationKey = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...NASTY_KEYS, BACKEND_ANNOTATION, "org.example/role"));
const annotationsArb = fc.dictionary(annotationKey, fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...BACKEND_NAMES, "", "*")), { maxKeys: 3 });
const ruleArb = fc.record(
  {
    name: fc.string({ minLength: 1, maxLength: 6 }),
    backend,
    id: globArb.filter((s) => s.length > 0),
    idRegex: fc.constantFrom("^a", "b$", ".*", "[0-9]+", "(", "\\"),
    annotations: fc.dictionary(annotationKey.filter((k) => k.length > 0), fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("*", "?", "")), { minKeys: 1, maxKeys: 2 }),
  },
  { requiredKeys: ["backend"] },
);

type RuleDoc = { name?: string; backend: BackendName; id?: string; idRegex?: string; annotations?: Record<string, string> };

/** Expected routing, written from the documented rules (own annotation keys only). */
function expectedRoute(id: string, annotations: Record<string, string>, rules: RuleDoc[], def: BackendName): BackendName | "error" {
  if (Object.hasOwn(annotations, BACKEND_ANNOTATION)) {
    const pinned = annotations[BACKEND_ANNOTATION]!;
    return (BACKEND_NAMES as readonly string[]).includes(pinned) ? (pinned as BackendName) : "error";
  }
  for (const r of rules) {
    if (r.id !== undefined && !oracleCU(r.id, id)) continue;
    if (r.idRegex !== undefined && !new RegExp(r.idRegex).test(id)) continue;
    if (r.annotations && !Object.entries(r.annotations).every(([k, g]) => Object.hasOwn(annotations, k) && oracleCU(g, annotations[k]!))) continue;
    return r.backend;
  }
  return def;
}

describe("fuzz: route", () => {
  it("never throws except InvalidArgumentError for a pinned unknown backend; follows the documented rules (own annotation keys only)", { timeout: timeoutFor(2000, 2) }, () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_+\-.]{1,24}$/),
        annotationsArb,
        fc.array(ruleArb, { maxLength: 3 }),
        backend,
        (id, annotations, rules, def) => {
          let config;
          try {
            config = parseConfig({ defaultBackend: def, routing: rules }, "fuzz");
          } catch {
            return; // e.g. a rule with no condition, or an invalid idRegex: refused at load time
          }
          const ann = Object.fromEntries(Object.entries(annotations));
          const want = expectedRoute(id, ann, config.routing as RuleDoc[], def);
          let got: BackendName | "error";
          try {
            got = withinMs(1000, "route", () => route(id, ann, config)).backend;
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidArgumentError);
            got = "error";
          }
          expect(got).toBe(want);
        },
      ),
      params(2000),
    );
  });
});
