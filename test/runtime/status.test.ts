import { describe, expect, it } from "vitest";
import type { Status } from "../../src/names.js";
import { execTransition, stopNeeded, transition, type Operation } from "../../src/runtime/status.js";

const table: Array<[Operation, Status, Status | RegExp]> = [
  ["start", "created", "running"],
  ["start", "running", /^cannot start an already running container$/],
  ["start", "stopped", /^cannot start a container that has stopped$/],
  ["start", "paused", /paused/],
  ["start", "creating", /creating/],
  ["kill", "created", "created"],
  ["kill", "running", "running"],
  ["kill", "paused", "paused"],
  ["kill", "stopped", /^container not running$/],
  ["kill", "creating", /^container not running$/],
  ["delete", "created", "created"],
  ["delete", "stopped", "stopped"],
  ["delete", "running", /^cannot delete container c1 that is not stopped: running$/],
  ["delete", "paused", /^cannot delete container c1 that is not stopped: paused$/],
  ["pause", "running", "paused"],
  ["pause", "stopped", /^container not running$/],
  ["resume", "paused", "running"],
  ["resume", "running", /^container not paused$/],
  ["exec", "running", "running"],
  ["exec", "stopped", /^cannot exec in a stopped container$/],
];

describe("status transitions", () => {
  it.each(table)("%s from %s", (op, from, expected) => {
    if (expected instanceof RegExp) {
      expect(() => transition(op, "c1", from)).toThrowError(expected);
    } else {
      expect(transition(op, "c1", from)).toBe(expected);
    }
  });
});

describe("the exceptions beside the table", () => {
  it("exec refused by the table exits 255 with the table's message", () => {
    expect(() => execTransition("c1", "stopped")).toThrowError(/^cannot exec in a stopped container$/);
    let refused: unknown;
    try {
      execTransition("c1", "paused");
    } catch (e) {
      refused = e;
    }
    expect(refused).toMatchObject({ message: "cannot exec in a paused container", exitCode: 255 });
    expect(execTransition("c1", "running")).toBe("running");
  });

  it.each<[Status, boolean | RegExp]>([
    ["stopped", false],
    ["running", true],
    ["created", true],
    ["paused", true],
    ["creating", /^container c1 is still being created$/],
  ])("stop from %s", (from, expected) => {
    if (expected instanceof RegExp) expect(() => stopNeeded("c1", from)).toThrowError(expected);
    else expect(stopNeeded("c1", from)).toBe(expected);
  });
});
