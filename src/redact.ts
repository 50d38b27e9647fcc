/**
 * Redaction of credentials in what nexcage writes to logs and error messages. Secrets reach
 * nexcage in container environments (`DB_PASSWORD=...` in config.json, `exec --env`), in the argv
 * of the tools it runs (`pct create --env`, lxc.environment lines), in URLs with a user:password
 * part, HTTP authorization values and Proxmox API tokens (`PVEAPIToken=user@realm!id=uuid`).
 * Values are replaced by `***`; names stay, so a line still says what was set.
 */
export const MASK = "***";

/**
 * The rule, in two parts (test/redact.test.ts has the table):
 * - a name is secret when it contains one of SECRET_STEMS anywhere (case-insensitive: DB_PASSWORD,
 *   apiKey, PGPASSFILE, X-Auth-Token), or when one of its words is in SECRET_WORDS (words split at
 *   `_ . -` and lower-to-upper case changes: MYSQL_PWD, GITHUB_PAT, DATABASE_DSN; whole
 *   words only, so PATH and PATTERN are not; not `key`: KEY=VALUE in a message is no secret);
 * - a value is secret, whatever its name, when it has the shape of a known credential (SECRET_SHAPES).
 */
const SECRET_STEMS = /pass(?:word|wd|phrase)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth|cookie|session/i;
const SECRET_WORDS: ReadonlySet<string> = new Set(["pwd", "pw", "pat", "dsn", "otp"]);

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/);
}

export function isSecretName(name: string): boolean {
  return SECRET_STEMS.test(name) || words(name).some((w) => SECRET_WORDS.has(w));
}

/** Credentials recognised by their form (issuers' documented prefixes), masked wherever they appear. */
const SECRET_SHAPES: readonly RegExp[] = [
  /\bgh[pousr]_[A-Za-z0-9]{16,}/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{16,}/g, // GitHub fine-grained tokens
  /\bglpat-[A-Za-z0-9_-]{16,}/g, // GitLab
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key ids
  /\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,}/g, // Stripe
  /\bsk-[A-Za-z0-9_-]{20,}/g, // OpenAI-style API keys
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // JWTs
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, // PEM private keys
];

function maskShapes(text: string): string {
  return SECRET_SHAPES.reduce((t, shape) => t.replace(shape, MASK), text);
}

const NAME = "[A-Za-z_][A-Za-z0-9_.-]*";
const NAME_ONLY = new RegExp(`^${NAME}$`);
/** NAME=value inside free text; the value ends at white space, a quote, a comma or a semicolon. */
const ASSIGNMENT = new RegExp(`(${NAME})=([^\\s"',;]+)`, "g");
/** "name": "value" (JSON and JSON-like text). */
const JSON_PAIR = new RegExp(`"(${NAME})"(\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, "g");
/** --name value / --name=value / -name value. */
const FLAG_VALUE = /(--?[A-Za-z][A-Za-z0-9-]*)([= ])(\S+)/g;
const AUTH_SCHEME = /\b(Bearer|Basic|Token|PVEAPIToken)(\s+|=)[^\s"',;]+/gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]+):[^/\s@]+@/gi;

/** The text with every credential value replaced by `***`. */
export function redactText(text: string): string {
  return maskShapes(text)
    .replace(URL_USERINFO, `$1:${MASK}@`)
    .replace(AUTH_SCHEME, `$1$2${MASK}`)
    .replace(JSON_PAIR, (all, name: string, sep: string) => (isSecretName(name) ? `"${name}"${sep}"${MASK}"` : all))
    .replace(FLAG_VALUE, (all, flag: string, sep: string, value: string) => (isSecretName(flag) && !value.startsWith("-") ? `${flag}${sep}${MASK}` : all))
    .replace(ASSIGNMENT, (all, name: string) => (isSecretName(name) ? `${name}=${MASK}` : all));
}

/** One string that is a whole `NAME=value` (an env entry, an argv word): the value may hold spaces. */
function redactWord(word: string): string {
  const eq = word.indexOf("=");
  if (eq > 0 && NAME_ONLY.test(word.slice(0, eq)) && isSecretName(word.slice(0, eq))) return `${word.slice(0, eq)}=${MASK}`;
  return redactText(word);
}

/**
 * A log object with credentials masked: values under secret names, `NAME=value` strings, and in
 * argv-like arrays the word after a secret flag (`["--password", "x"]`). Returns a copy.
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactWord(value);
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (value instanceof Error) return redactText(String(value.message));
  if (Array.isArray(value)) {
    return value.map((v, i) => {
      const before = value[i - 1];
      if (typeof v === "string" && typeof before === "string" && /^--?[A-Za-z][A-Za-z0-9-]*$/.test(before) && isSecretName(before)) return MASK;
      return redactValue(v, depth + 1);
    });
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretName(k) && (typeof v === "string" || typeof v === "number") ? MASK : redactValue(v, depth + 1);
  }
  return out;
}
