import { describe, expect, it } from "vitest";
import { parseSignal } from "../../src/oci/signals.js";

describe("parseSignal", () => {
  it.each([
    ["TERM", 15, "SIGTERM"],
    ["SIGTERM", 15, "SIGTERM"],
    ["sigterm", 15, "SIGTERM"],
    ["term", 15, "SIGTERM"],
    ["Kill", 9, "SIGKILL"],
    ["9", 9, "SIGKILL"],
    ["15", 15, "SIGTERM"],
    ["1", 1, "SIGHUP"],
    ["SIGUSR1", 10, "SIGUSR1"],
    ["pwr", 30, "SIGPWR"],
    ["IOT", 6, "SIGABRT"],
    ["CLD", 17, "SIGCHLD"],
    ["RTMIN", 34, "SIGRTMIN"],
    ["SIGRTMIN+3", 37, "SIGRTMIN+3"],
    ["rtmax-1", 63, "SIGRTMIN+29"],
    ["RTMAX", 64, "SIGRTMAX"],
    ["64", 64, "SIGRTMAX"],
    ["34", 34, "SIGRTMIN"],
    [" 2 ", 2, "SIGINT"],
  ])("%j → %i", (input, num, name) => {
    expect(parseSignal(input)).toEqual({ number: num, name });
  });

  it.each(["", "0", "65", "32", "33", "-9", "NOTASIG", "SIG", "SIGTERMX", "RTMIN-1", "RTMAX+1", "RTMIN+31", "9.0", "0x9", "1e1", "TERM;rm -rf /"])(
    "rejects %j with a clear message",
    (input) => {
      expect(() => parseSignal(input)).toThrowError(/^unknown signal /);
    },
  );
});
