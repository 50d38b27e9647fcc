import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { BACKEND_NAMES } from "../../src/names.js";
import { ConfigError } from "../../src/errors.js";
import { isOneLine, keyArb, mutate, mutationArb, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

const SOURCE = "/etc/nexcage/fuzz.json";
const TOP_KEYS = ["$schema", "defaultBackend", "routing", "backends", "lockTimeoutSeconds"];

const backend = fc.constantFrom(...BACKEND_NAMES);
const rule = fc.record(
  {
    name: fc.string({ minLength: 1, maxLength: 8 }),
    backend,
    id: fc.string({ minLength: 1, maxLength: 10 }),
    idRegex: fc.constantFrom("^a", "b$", ".*", "[0-9]+"),
    annotations: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
  },
  { requiredKeys: ["backend", "id"] },
);

/** Configs that parse, before mutation. */
const validConfig = fc.record(
  {
    $schema: fc.constant("./config.schema.json"),
    defaultBackend: backend,
    routing: fc.array(rule, { maxLength: 3 }),
    backends: fc.record(
      {
        crun: fc.record({ path: fc.constant("/usr/bin/crun"), timeoutSeconds: fc.integer({ min: 1, max: 3600 }), driver: fc.constantFrom("auto", "libcrun", "cli") }, { requiredKeys: [] }),
        runc: fc.record({ path: fc.constant("/usr/sbin/runc"), timeoutSeconds: fc.integer({ min: 1, max: 3600 }) }, { requiredKeys: [] }),
        "proxmox-lxc": fc.record(
          {
            storage: fc.constantFrom("local-lvm", "local-zfs"),
            bridge: fc.constantFrom("vmbr0", "vmbr1"),
            ip: fc.constantFrom("dhcp", "manual", "10.0.0.5/24"),
            gateway: fc.constant("10.0.0.1"),
            vmidRange: fc.constant({ min: 100, max: 200 }),
            tags: fc.constantFrom([], ["a", "b-c"]),
            features: fc.constant("nesting=1,keyctl=1"),
            rootfsSizeGiB: fc.integer({ min: 1, max: 64 }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    lockTimeoutSeconds: fc.integer({ min: 1, max: 3600 }),
  },
  { requiredKeys: [] },
);

/** Arbitrary JSON, mutated valid configs, and configs with odd keys/values at known places. */
const configDoc: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 4, arbitrary: fc.tuple(validConfig, fc.array(mutationArb, { minLength: 0, maxLength: 4 })).map(([c, m]) => mutate(c, m)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(validConfig, keyArb, fc.oneof(fc.jsonValue({ maxDepth: 2 }), nastyString()), fc.constantFrom("", "routing.0", "routing.0.annotations", "backends", "backends.crun", "backends.proxmox-lxc", "backends.proxmox-lxc.vmidRange"))
      .map(([c, key, value, where]) => {
        const doc = JSON.parse(JSON.stringify(c)) as Record<string, unknown>;
        let target: Record<string, unknown> | undefined = doc;
        for (const part of where.split(".").filter(Boolean)) {
          const next: unknown = target?.[part];
          target = next !== null && typeof next === "object" ? (next as Record<string, unknown>) : undefined;
        }
        if (target) Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
        return doc;
      }),
  },
);

function attempt(doc: unknown): { ok: true } | { ok: false; error: unknown } {
  try {
    const config = withinMs(2000, "parseConfig", () => parseConfig(doc, SOURCE));
    expect(BACKEND_NAMES).toContain(config.defaultBackend);
    expect(Array.isArray(config.routing)).toBe(true);
    expect(config.lockTimeoutSeconds).toBeGreaterThan(0);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e };
  }
}

describe("fuzz: parseConfig", () => {
  it("valid configs before mutation parse", { timeout: timeoutFor(300, 2) }, () => {
    fc.assert(
      fc.property(validConfig, (c) => {
        const r = attempt(c);
        if (!r.ok) throw r.error;
      }),
      params(300),
    );
  });

  it("any JSON: a Config or a ConfigError naming a key path or an unknown key (never another error)", { timeout: timeoutFor(1500, 2) }, () => {
    fc.assert(
      fc.property(configDoc, (doc) => {
        const r = attempt(doc);
        if (r.ok) return;
        expect(r.error).toBeInstanceOf(ConfigError);
        const msg = (r.error as Error).message;
        const prefix = `invalid config ${SOURCE}: `;
        expect(msg.startsWith(prefix)).toBe(true);
        const first = msg.slice(prefix.length);
        const topKeys = [...TOP_KEYS, ...(doc !== null && typeof doc === "object" && !Array.isArray(doc) ? Object.keys(doc) : [])];
        const namesPath = first.startsWith("(top level): ") || first.startsWith("unknown key ") || topKeys.some((k) => first.startsWith(`${k}.`) || first.startsWith(`${k}: `));
        expect(namesPath, msg).toBe(true);
      }),
      params(1500),
    );
  });

  it("ConfigError messages are one line", { timeout: timeoutFor(1500, 2) }, () => {
    fc.assert(
      fc.property(configDoc, (doc) => {
        const r = attempt(doc);
        if (r.ok) return;
        expect(r.error).toBeInstanceOf(ConfigError);
        expect(isOneLine((r.error as Error).message), JSON.stringify((r.error as Error).message)).toBe(true);
      }),
      params(1500),
    );
  });
});
