import type { ExecRequest } from "../contract.js";

// Flags runc has and crun 1.8.1 does not: refused by name rather than silently dropped.

export function crunExecRefusals(req: ExecRequest): string[] {
  const out: string[] = [];
  if (req.additionalGids.length > 0) out.push("--additional-gids");
  if (req.ignorePaused) out.push("--ignore-paused");
  return out;
}

export function crunUpdateRefusals(flags: readonly string[]): string[] {
  return flags.filter((f) => /^--(l3-cache-schema|mem-bw-schema)=/.test(f)).map((f) => f.split("=")[0]!);
}
