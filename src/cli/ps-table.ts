/**
 * runc's `ps` table: the host's `ps` output (header kept) narrowed to the container's pids, found by
 * the PID column of the header.
 */
export function filterPsTable(text: string, pids: readonly number[]): string {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines[0];
  if (header === undefined) throw new Error("ps printed nothing");
  const column = header.trim().split(/\s+/).indexOf("PID");
  if (column < 0) throw new Error("ps output has no PID column");
  const wanted = new Set(pids);
  const rows = lines.slice(1).filter((l) => wanted.has(Number(l.trim().split(/\s+/)[column])));
  return [header, ...rows].join("\n") + "\n";
}
