/** Parsers for what pct, qm and pvesh print (pure). */

/** `pct|qm status <vmid> --verbose` (top-level `key: value` lines) as key → value. */
export function parseStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (/^\s/.test(line)) continue; // nested hashes of qm status --verbose are TAB-indented
    const m = /^([a-z][a-z0-9_-]*): ?(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** `pvesh get /cluster/nextid` prints the id (a JSON string over HTTP, a bare number on the CLI). */
export function parseNextId(text: string): number | undefined {
  const m = /^"?([1-9][0-9]{2,8})"?$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}
