import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger, jsonLineToText } from "../src/log.js";

describe("logging", () => {
  it("json format writes runc's {level,msg,time} lines", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "nexcage-log-")), "log.json");
    const log = await createLogger({ file, format: "json", debug: false });
    log.debug({}, "hidden without --debug");
    log.error({ id: "c1" }, "boom");
    log.flush();
    const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "error", msg: "boom", id: "c1" });
    expect(new Date(lines[0].time).toISOString()).toBe(lines[0].time);
  });

  it("--debug lets debug lines through", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "nexcage-log-")), "log.json");
    const log = await createLogger({ file, format: "json", debug: true });
    log.debug({ backend: "crun" }, "route");
    log.flush();
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ level: "debug", msg: "route", backend: "crun" });
  });

  it("text format is runc's time=... level=... msg=...", () => {
    expect(jsonLineToText('{"level":"error","time":"T","msg":"a \\"b\\"","id":"c1"}')).toBe('time="T" level=error msg="a \\"b\\"" id="c1"\n');
  });
});
