/** In the shipped single binary `Bun` is a global with a native hasher; node loads node:crypto on first use. */
declare const Bun: { CryptoHasher: new (algorithm: "sha256") => { update(text: string): { digest(encoding: "hex"): string } } } | undefined;

/** The SHA-256 of `text` (UTF-8), in hex. */
export function sha256Hex(text: string): string {
  if (typeof Bun !== "undefined") return new Bun.CryptoHasher("sha256").update(text).digest("hex");
  return process.getBuiltinModule("node:crypto").createHash("sha256").update(text).digest("hex");
}
