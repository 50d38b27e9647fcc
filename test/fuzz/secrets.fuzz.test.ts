import fc from "fast-check";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { NexcageError } from "../../src/errors.js";
import { loadBundle } from "../../src/oci/bundle.js";
import { redactText, redactValue } from "../../src/redact.js";
import { Store } from "../../src/state/store.js";
import { params } from "./_fuzz.js";

/**
 * Secret shapes in every error path (issue 16): a credential, by its shape (a GitHub, GitLab,
 * Slack, AWS, Stripe or JWT token) or under a secret name (MYSQL_PWD, GITHUB_PAT, DB_PASSWORD...),
 * put anywhere in --config, a bundle's config.json or a record (as a bare token that breaks the
 * JSON, a value of the wrong type, an env entry, an unknown key's value) never appears in the
 * error line nexcage prints (main.ts prints redactText of the message), nor in a log object.
 */
const base = mkdtempSync(join(tmpdir(), "nexcage-fuzz-secrets-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

const alnum = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), minLength: min, maxLength: max });
const upper = (len: number) => fc.string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), minLength: len, maxLength: len });

/** Credentials recognised by shape alone. */
const shaped = fc.oneof(
  alnum(36, 40).map((s) => `ghp_${s}`),
  alnum(22, 30).map((s) => `github_pat_${s}`),
  alnum(20, 24).map((s) => `glpat-${s}`),
  alnum(12, 30).map((s) => `xoxb-${s}`),
  upper(16).map((s) => `AKIA${s}`),
  alnum(16, 30).map((s) => `sk_live_${s}`),
  fc.tuple(alnum(10, 20), alnum(10, 20), alnum(10, 20)).map(([a, b, c]) => `eyJ${a}.eyJ${b}.${c}`),
);
/** Credentials that only their name marks: `NAME=value`. */
const named = fc.tuple(fc.constantFrom("MYSQL_PWD", "GITHUB_PAT", "DB_PASSWORD", "PGPASSWORD", "API_TOKEN", "AWS_SECRET_ACCESS_KEY", "SSH_PASSPHRASE", "REDIS_DSN"), alnum(8, 20)).map(([k, v]) => ({ assignment: `${k}=${v}`, value: v }));

type Placement = "bare" | "wrong-type" | "env" | "unknown-key" | "truncated";
const placements: readonly Placement[] = ["bare", "wrong-type", "env", "unknown-key", "truncated"];

/** A JSON-ish document holding `secret` as `placement` says (`assignment` when it is NAME=value). */
function docWith(placement: Placement, secret: string, assignment: string): string {
  switch (placement) {
    case "bare":
      return `{"ociVersion": ${secret}, "defaultBackend": ${secret}}`;
    case "wrong-type":
      return JSON.stringify({ ociVersion: { v: assignment }, defaultBackend: [assignment], lockTimeoutSeconds: assignment });
    case "env":
      return JSON.stringify({ ociVersion: "1.0.2", process: { env: [assignment, 5], args: ["x"] }, root: { path: "rootfs" }, defaultBackend: "crun", routing: [{ backend: "crun", id: assignment, annotations: { a: 5 } }] });
    case "unknown-key":
      return JSON.stringify({ registryAuth: assignment, process: { bogus: assignment } });
    case "truncated":
      return `{"process": {"env": ["${assignment}"`;
  }
}

const printed = (e: unknown) => redactText((e as Error).message);

describe("secret shapes in every error path", () => {
  it("--config, config.json and state.json holding a credential: the printed error never shows it", () => {
    fc.assert(
      fc.property(fc.oneof(shaped.map((s) => ({ assignment: `NOTE=${s}`, value: s })), named), fc.constantFrom(...placements), (secret, placement) => {
        const dir = join(base, `c${n++}`);
        mkdirSync(join(dir, "bundle", "rootfs"), { recursive: true });
        mkdirSync(join(dir, "root", "c1"), { recursive: true, mode: 0o700 });
        const text = docWith(placement, secret.value, secret.assignment);
        writeFileSync(join(dir, "config.json"), text);
        writeFileSync(join(dir, "bundle", "config.json"), text);
        writeFileSync(join(dir, "root", "c1", "state.json"), text);
        const messages: string[] = [];
        for (const call of [() => loadConfig(join(dir, "config.json"), {}), () => loadBundle(join(dir, "bundle")), () => new Store(join(dir, "root")).read("c1")]) {
          try {
            call();
          } catch (e) {
            expect(e, String(e)).toBeInstanceOf(NexcageError);
            messages.push(printed(e));
          }
        }
        expect(messages.length).toBeGreaterThan(0);
        for (const m of messages) expect(m, m).not.toContain(secret.value);
      }),
      params(150),
    );
  });

  it("free text and log objects with a credential anywhere: masked", () => {
    fc.assert(
      fc.property(fc.oneof(shaped.map((s) => ({ assignment: `X=${s}`, value: s })), named), fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (secret, before, after) => {
        const text = `${before} ${secret.assignment} ${after}`;
        fc.pre(!before.includes(secret.value) && !after.includes(secret.value));
        expect(redactText(text)).not.toContain(secret.value);
        const logged = JSON.stringify(redactValue({ argv: ["--env", secret.assignment], msg: text, env: { [secret.assignment.split("=")[0]!]: secret.value } }));
        expect(logged).not.toContain(secret.value);
      }),
      params(300),
    );
  });
});
