import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isSameLiveProcess, parseProcStat, readProcStat } from "../../src/proc/stat.js";

describe("/proc/<pid>/stat", () => {
  it("parses a comm holding spaces and parentheses", () => {
    const text = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100\n";
    expect(parseProcStat(text)).toEqual({ state: "S", ppid: 1, startTime: "987654" });
  });

  it("returns undefined for garbage", () => {
    expect(parseProcStat("nonsense")).toBeUndefined();
    expect(parseProcStat("1 (x) S 1")).toBeUndefined();
  });

  it("reads this process and matches /proc/self/stat", () => {
    const self = readProcStat(process.pid)!;
    const text = readFileSync("/proc/self/stat", "utf8");
    expect(self.startTime).toBe(parseProcStat(text)!.startTime);
    expect(isSameLiveProcess(process.pid, self.startTime)).toBe(true);
  });

  it("a pid whose start time differs (reused pid) is not the same process", () => {
    const self = readProcStat(process.pid)!;
    expect(isSameLiveProcess(process.pid, String(Number(self.startTime) + 1))).toBe(false);
  });

  it("no process, pid 0 and negative pids are not alive", () => {
    expect(readProcStat(0)).toBeUndefined();
    expect(readProcStat(-5)).toBeUndefined();
    expect(readProcStat(4_194_304 + 10)).toBeUndefined();
    expect(isSameLiveProcess(0, "1")).toBe(false);
  });
});
