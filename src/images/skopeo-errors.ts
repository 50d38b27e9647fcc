import { BackendError, oneLine } from "../errors.js";

/** What went wrong in a skopeo call, from its stderr (skopeo exits 1 for every failure). */
export type PullFailure = "not-found" | "unreachable" | "unauthorized" | "no-space" | "tls" | "other";

const RULES: ReadonlyArray<[PullFailure, RegExp]> = [
  ["no-space", /no space left on device|disk quota exceeded/i],
  ["not-found", /manifest unknown|name unknown|repository name not known/i],
  ["unauthorized", /unauthorized|authentication required|denied: requested access|invalid username\/password/i],
  ["tls", /http: server gave HTTP response to HTTPS client|x509|certificate|tls: /i],
  ["unreachable", /connection refused|no such host|network is unreachable|i\/o timeout|dial tcp|connection reset|no route to host|server misbehaving|temporary failure in name resolution/i],
];

export function classifySkopeoError(stderr: string): PullFailure {
  for (const [kind, re] of RULES) if (re.test(stderr)) return kind;
  return "other";
}

/** The last meaningful line skopeo printed (its errors end `...: <cause>`), without logrus' prefix. */
export function skopeoCause(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const last = lines.filter((l) => /level=(fatal|error)|^Error|^FATA/.test(l)).pop() ?? lines.pop() ?? "";
  const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(last)?.[1]?.replace(/\\"/g, '"') ?? last.replace(/^(FATA\[[0-9]+\]|Error:)\s*/, "");
  return oneLine(msg);
}

/** One actionable line for a failed pull of `reference` into `storage`. */
export function pullError(reference: string, registry: string, storage: string, stderr: string): BackendError {
  const cause = skopeoCause(stderr);
  switch (classifySkopeoError(stderr)) {
    case "not-found":
      return new BackendError(`pull ${reference}: no such image in registry ${registry} (unknown repository or tag)`);
    case "unreachable":
      return new BackendError(`pull ${reference}: cannot reach registry ${registry}: ${tail(cause)}`);
    case "unauthorized":
      return new BackendError(`pull ${reference}: registry ${registry} refused access (check the credentials in the auth file): ${cause}`);
    case "no-space":
      return new BackendError(`pull ${reference}: no space left in template storage '${storage}'`);
    case "tls":
      return new BackendError(`pull ${reference}: TLS to registry ${registry} failed (list it in images.insecureRegistries for plain HTTP): ${tail(cause)}`);
    default:
      return new BackendError(`pull ${reference}: ${cause || "skopeo failed"}`);
  }
}

/** The innermost cause of a Go error chain (`a: b: connect: connection refused` → `connect: connection refused`). */
function tail(cause: string): string {
  return cause.split(": ").slice(-2).join(": ");
}
