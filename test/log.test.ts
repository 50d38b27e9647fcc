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
    log.warn({ id: "c1" }, "first");
    log.error({ id: "c1" }, "boom");
    await log.flush();
    const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: "warn", msg: "first", id: "c1" });
    expect(lines[1]).toMatchObject({ level: "error", msg: "boom", id: "c1" });
    expect(new Date(lines[0].time).toISOString()).toBe(lines[0].time);
  });

  it("--debug lets debug lines through", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "nexcage-log-")), "log.json");
    const log = await createLogger({ file, format: "json", debug: true });
    log.debug({ backend: "crun" }, "route");
    await log.flush();
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ level: "debug", msg: "route", backend: "crun" });
  });

  it("an unusable --log file fails at once, also without --debug", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nexcage-log-"));
    await expect(createLogger({ file: join(dir, "no", "such", "dir.log"), format: "json", debug: false })).rejects.toThrow(/cannot open log file .*ENOENT/);
  });

  it("text format is runc's time=... level=... msg=...", () => {
    expect(jsonLineToText('{"level":"error","time":"T","msg":"a \\"b\\"","id":"c1"}')).toBe('time="T" level=error msg="a \\"b\\"" id="c1"\n');
  });
});
