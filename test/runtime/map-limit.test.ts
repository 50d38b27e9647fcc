import { describe, expect, it } from "vitest";
import { mapLimit } from "../../src/runtime/map-limit.js";

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("mapLimit", () => {
  it.each([
    [0, 3],
    [1, 3],
    [5, 1],
    [20, 8],
    [3, 8],
  ])("%i items, limit %i: results in order, never more than the limit in flight", async (n, limit) => {
    let inFlight = 0;
    let most = 0;
    const items = Array.from({ length: n }, (_, i) => i);
    const res = await mapLimit(items, limit, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await tick();
      inFlight--;
      return i * 10;
    });
    expect(res).toEqual(items.map((i) => i * 10));
    expect(most).toBe(Math.min(limit, n));
  });

  it("a rejection rejects the whole and starts no further calls", async () => {
    const started: number[] = [];
    await expect(
      mapLimit([0, 1, 2, 3, 4, 5], 2, async (i) => {
        started.push(i);
        await tick();
        if (i === 1) throw new Error("boom 1");
        return i;
      }),
    ).rejects.toThrow("boom 1");
    expect(started).toEqual([0, 1, 2]);
  });
});
