import { describe, expect, it } from "vitest";
import { MAX_ID_LENGTH, validateContainerId } from "../../src/oci/id.js";

describe("validateContainerId", () => {
  it.each(["c1", "ok.id_+-1", "-lead", "a", "A.b", ".hidden", "x".repeat(MAX_ID_LENGTH), "k8s_POD_x-1.2+3"])("accepts %j", (id) => {
    expect(validateContainerId(id)).toBe(id);
  });

  it.each([
    ["", /empty/],
    [".", /invalid container ID format/],
    ["..", /invalid container ID format/],
    ["bad/id", /invalid container ID format/],
    ["bad id", /invalid container ID format/],
    ["bad:id", /invalid container ID format/],
    ["a\0b", /invalid container ID format/],
    ["$(reboot)", /invalid container ID format/],
    ["x".repeat(MAX_ID_LENGTH + 1), /longer than/],
    ["é", /invalid container ID format/],
    ["a\nb", /invalid container ID format/],
  ])("rejects %j", (id, re) => {
    expect(() => validateContainerId(id)).toThrowError(re);
  });
});
