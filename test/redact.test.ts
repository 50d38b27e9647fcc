import { describe, expect, it } from "vitest";
import { jsonErrorText, redactText, redactValue } from "../src/redact.js";

describe("redactText", () => {
  it.each([
    ["DB_PASSWORD=hunter2", "DB_PASSWORD=***"],
    ["env GITHUB_TOKEN=ghp_abc123 PATH=/bin", "env GITHUB_TOKEN=*** PATH=/bin"],
    ["lxc.environment.runtime: AWS_SECRET_ACCESS_KEY=wJalr/K7", "lxc.environment.runtime: AWS_SECRET_ACCESS_KEY=***"],
    ["apiKey=k1,user=bob", "apiKey=***,user=bob"],
    ['{"password": "p4ss", "user": "bob"}', '{"password": "***", "user": "bob"}'],
    ['{"token":"a\\"b"}', '{"token":"***"}'],
    ["pct create --password s3cret --hostname h", "pct create --password *** --hostname h"],
    ["--api-token=abc --memory=512", "--api-token=*** --memory=512"],
    ["Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***"],
    ["Authorization: PVEAPIToken=root@pam!ci=0f4b-11aa", "Authorization: PVEAPIToken=***"],
    ["pull https://bob:pa55@registry.example/img", "pull https://bob:***@registry.example/img"],
    // nothing to hide: unchanged
    ["create failed: no space left on device in /run/nexcage/web-1", "create failed: no space left on device in /run/nexcage/web-1"],
    ["PATH=/usr/bin HOME=/root TERM=xterm", "PATH=/usr/bin HOME=/root TERM=xterm"],
    ["container with given ID already exists", "container with given ID already exists"],
    ["--hostname web --memory 512", "--hostname web --memory 512"],
  ])("%j → %j", (input, output) => {
    expect(redactText(input)).toBe(output);
  });
});

describe("redactValue (log objects)", () => {
  it("masks values under secret names, NAME=value strings (spaces included) and the word after a secret flag", () => {
    const argv = ["/usr/sbin/pct", "create", "100", "--env", "DB_PASSWORD=two words", "--password", "plain", "--env", "LANG=C"];
    expect(redactValue({ argv, token: "t", nested: { apiKey: 42, list: [{ secret: "s" }] }, user: "bob" })).toEqual({
      argv: ["/usr/sbin/pct", "create", "100", "--env", "DB_PASSWORD=***", "--password", "***", "--env", "LANG=C"],
      token: "***",
      nested: { apiKey: "***", list: [{ secret: "***" }] },
      user: "bob",
    });
  });

  it("returns a copy (the input is untouched), also below its depth limit", () => {
    const input = { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: "PASSWORD=x" } } } } } } } } } };
    const copy = JSON.parse(JSON.stringify(input));
    redactValue(input);
    expect(input).toEqual(copy);
  });
});

describe("jsonErrorText", () => {
  it.each([`{"a": hunter2}`, `hunter2`, `{"env":["X=1" "DB_PASSWORD=hunter2"]}`, `{"token":"hunter2`])("a JSON error for %j does not quote the document", (text) => {
    let err: unknown;
    try {
      JSON.parse(text);
    } catch (e) {
      err = e;
    }
    expect(jsonErrorText(err)).not.toContain("hunter2");
    expect(jsonErrorText(err)).toMatch(/JSON|position/);
  });
});
