import { describe, expect, it } from "vitest";
import { nameDigest } from "../../src/state/name-digest.js";

describe("nameDigest", () => {
  it("is 32 hex characters and the same for the same text", () => {
    expect(nameDigest("/run/nexcage\0web-1")).toMatch(/^[0-9a-f]{32}$/);
    expect(nameDigest("/run/nexcage\0web-1")).toBe(nameDigest("/run/nexcage\0web-1"));
  });

  it.each([
    ["", "\0"],
    ["a", "b"],
    ["/run/nexcage\0web-1", "/run/nexcage\0web-2"],
    ["/run/a\0bc", "/run/ab\0c"],
    ["ab", "ba"],
  ])("%j and %j differ", (a, b) => {
    expect(nameDigest(a)).not.toBe(nameDigest(b));
  });

  it("no collision among 100,000 root/id names, and each lane varies", () => {
    const seen = new Set<string>();
    const lanes = [new Set<string>(), new Set<string>(), new Set<string>(), new Set<string>()];
    for (let i = 0; i < 100_000; i++) {
      const d = nameDigest(`/run/nexcage\0c-${i}`);
      seen.add(d);
      for (let l = 0; l < 4; l++) lanes[l]!.add(d.slice(l * 8, l * 8 + 8));
    }
    expect(seen.size).toBe(100_000);
    for (const l of lanes) expect(l.size).toBeGreaterThan(99_990);
  });
});
