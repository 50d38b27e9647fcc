import { describe, expect, it } from "vitest";
import { lastLoggedError } from "../../src/backends/oci-cli.js";
import { parsePid } from "../../src/backends/pid-file.js";

describe("lastLoggedError", () => {
  it("takes the last error line of crun's and runc's JSON logs", () => {
    const text = [
      '{"msg":"a warning","level":"warning","time":"t"}',
      '{"msg":"executable file `/nonexistent` not found in $PATH: No such file or directory","level":"error","time":"t"}',
      '{"level":"error","msg":"runc create failed: second","time":"t"}',
      "torn {",
      "",
    ].join("\n");
    expect(lastLoggedError(text)).toBe("runc create failed: second");
  });

  it("returns undefined without error lines", () => {
    expect(lastLoggedError('{"level":"info","msg":"x"}\n')).toBeUndefined();
    expect(lastLoggedError("")).toBeUndefined();
  });
});

describe("parsePid", () => {
  it.each([
    ["8821", 8821],
    ["8821\n", 8821],
    ["", undefined],
    ["0", undefined],
    ["-1", undefined],
    ["12a", undefined],
    ["99999999", undefined],
  ])("%j → %s", (text, pid) => expect(parsePid(text)).toBe(pid));
});
