import { describe, expect, it } from "vitest";
import { filterPsTable } from "../../src/cli/ps-table.js";

const PS = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 18:00 ?        00:00:01 /sbin/init
root         200       1  0 18:00 ?        00:00:00 sleep 1000
root        2000     200  0 18:00 ?        00:00:00 sh -c 200
`;

describe("filterPsTable", () => {
  it("keeps the header and the rows whose PID column is the container's", () => {
    expect(filterPsTable(PS, [200])).toBe("UID          PID    PPID  C STIME TTY          TIME CMD\nroot         200       1  0 18:00 ?        00:00:00 sleep 1000\n");
  });

  it("matches the PID column, not a PPID or a number in the command", () => {
    expect(filterPsTable(PS, [2000]).split("\n")).toHaveLength(3);
    expect(filterPsTable(PS, [999])).toBe("UID          PID    PPID  C STIME TTY          TIME CMD\n");
  });

  it("finds PID in another column position (ps -o pid,cmd)", () => {
    expect(filterPsTable("  PID CMD\n  200 sleep\n  300 x\n", [300])).toBe("  PID CMD\n  300 x\n");
  });

  it("refuses output without a PID column", () => {
    expect(() => filterPsTable("A B\n1 2\n", [1])).toThrowError(/no PID column/);
  });
});
