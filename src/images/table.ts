import type { ImageEntry } from "./image-store.js";

/** `pveam list`'s size: MiB with two decimals. */
export function formatSize(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)}MB`;
}

/** The `images` table: one row per template or pulled image. */
export function imagesTable(entries: readonly ImageEntry[]): string {
  const rows = [["VOLUME", "TYPE", "SIZE", "DIGEST", "REFERENCE"]];
  for (const e of entries) rows.push([e.volid, e.type, formatSize(e.size), e.digest ?? "-", e.reference ?? "-"]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join("").trimEnd()).join("\n") + "\n";
}
