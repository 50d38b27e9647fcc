import { describe, expect, it } from "vitest";
import { isAllowed, transition, type Operation, type Status } from "../../src/runtime/status.js";

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
      expect(isAllowed(op, from)).toBe(false);
      expect(() => transition(op, "c1", from)).toThrowError(expected);
    } else {
      expect(isAllowed(op, from)).toBe(true);
      expect(transition(op, "c1", from)).toBe(expected);
    }
  });
});
