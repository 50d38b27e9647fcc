import { describe, expect, it } from "vitest";
import { isSecretName, redactText, redactValue } from "../src/redact.js";
import { jsonErrorOffset, jsonSyntaxPosition, jsonSyntaxText } from "../src/json-syntax.js";

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

describe("isSecretName (stems anywhere, short words whole)", () => {
  it.each([
    ["DB_PASSWORD", true],
    ["PGPASSWORD", true],
    ["PGPASSFILE", true],
    ["API_TOKEN", true],
    ["apiKey", true],
    ["X-Auth-Token", true],
    ["MYSQL_PWD", true],
    ["MYSQL_ROOT_PW", true],
    ["GITHUB_PAT", true],
    ["githubPat", true],
    ["SSH_KEY", false],
    ["KEY", false],
    ["DATABASE_DSN", true],
    ["VAULT_OTP", true],
    ["PATH", false],
    ["KEYBOARD", false],
    ["MONKEY", false],
    ["PATTERN", false],
    ["HOME", false],
    ["SPIN", false],
    ["PIN", false],
    ["LANG", false],
  ])("%s → %s", (name, secret) => {
    expect(isSecretName(name)).toBe(secret);
  });
});

describe("credential shapes are masked whatever their name", () => {
  const ghp = "ghp_S3cr3tT0k3nValue1234abcdEFGH";
  it.each([
    [`Unexpected identifier "${ghp}"`, `Unexpected identifier "***"`],
    ["MYSQL_PWD=hunter2", "MYSQL_PWD=***"],
    ["GITHUB_PAT=abc", "GITHUB_PAT=***"],
    ["x github_pat_11ABCDEFG0123456789_abcdefghij y", "x *** y"],
    ["remote: glpat-abcdefghijklmnopqrst", "remote: ***"],
    ["hook xoxb-123456789012-abcdefghij", "hook ***"],
    ["key AKIAIOSFODNN7EXAMPLE used", "key *** used"],
    ["stripe sk_live_abcdefghijklmnop", "stripe ***"],
    ["openai sk-abcdefghijklmnopqrstuvwx", "openai ***"],
    ["jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijk", "jwt ***"],
    ["-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "***"],
    // not credentials
    ["sha256:0123456789abcdef0123456789abcdef", "sha256:0123456789abcdef0123456789abcdef"],
    ["task-1234 skip-the-rest", "task-1234 skip-the-rest"],
  ])("%j → %j", (input, output) => {
    expect(redactText(input)).toBe(output);
  });
});

describe("JSON syntax errors: a position, never the text", () => {
  it.each([
    ['{"a": hunter2}', 1, 7, false],
    ["hunter2", 1, 1, false],
    ['{"env":["X=1" "DB_PASSWORD=hunter2"]}', 1, 15, false],
    ['{"token":"hunter2', 1, 10, false],
    ["{\n  \"a\": 1,\n  \"b\": ghp_x\n}", 3, 8, false],
    ['{"a": 1', 1, 8, true],
    ["[1, 2,", 1, 7, true],
    ["root:$y$j9T$abc:19000:0:99999:7:::\nbin:*:19000", 1, 1, false],
    ['{"a": 1} x', 1, 10, false],
    ['{"a" 1}', 1, 6, false],
    ["[01]", 1, 3, false],
    ['"\u0001"', 1, 1, false],
  ])("%j: line %i, column %i", (text, line, column, atEnd) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(jsonSyntaxPosition(text)).toEqual({ line, column, atEnd });
    const msg = jsonSyntaxText(text);
    for (const secret of ["hunter2", "ghp_x", "root", "$y$"]) expect(msg).not.toContain(secret);
  });

  it.each(['{"a": [1, {"b": null}], "c": "\\u00e9\\n"}', "[]", "{}", "-0.5e+3", ' "x" ', "true"])("valid JSON %j has no error offset", (text) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(jsonErrorOffset(text)).toBe(-1);
  });

  it("deep nesting does not overflow the scanner", () => {
    expect(jsonSyntaxPosition("[".repeat(200_000))?.atEnd).toBe(true);
  });

  it("an empty text says so", () => {
    expect(jsonSyntaxText("  \n")).toBe("empty");
  });
});
