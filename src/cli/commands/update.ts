import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { InvalidArgumentError } from "../../errors.js";
import type { CliContext } from "../context.js";

/** runc's update flags; values are checked here and passed on as --flag=value. */
const VALUE_FLAGS: ReadonlyArray<[string, string, RegExp]> = [
  ["blkio-weight", "block IO weight (10-1000)", /^[0-9]+$/],
  ["cpu-period", "CPU CFS period in microseconds", /^[0-9]+$/],
  ["cpu-quota", "CPU CFS quota in microseconds (-1: none)", /^-?[0-9]+$/],
  ["cpu-share", "CPU shares (relative weight)", /^[0-9]+$/],
  ["cpu-rt-period", "CPU realtime period in microseconds", /^[0-9]+$/],
  ["cpu-rt-runtime", "CPU realtime runtime in microseconds", /^-?[0-9]+$/],
  ["cpuset-cpus", "CPUs to use (0-3, 0,1)", /^[0-9,-]+$/],
  ["cpuset-mems", "memory nodes to use (0-3, 0,1)", /^[0-9,-]+$/],
  ["memory", "memory limit (bytes, or with k/m/g; -1: none)", /^-?[0-9]+[kKmMgGtT]?[bB]?$/],
  ["memory-reservation", "memory reservation", /^-?[0-9]+[kKmMgGtT]?[bB]?$/],
  ["memory-swap", "total memory plus swap (-1: unlimited)", /^-?[0-9]+[kKmMgGtT]?[bB]?$/],
  ["pids-limit", "maximum number of pids (-1: none)", /^-?[0-9]+$/],
  ["l3-cache-schema", "Intel RDT L3 cache schema", /^[^\0\n]+$/],
  ["mem-bw-schema", "Intel RDT memory bandwidth schema", /^[^\0\n]+$/],
];

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("update")
    .description("update a container's resource limits")
    .argument("<container-id>")
    .option("-r, --resources <file>", "runtime-spec LinuxResources JSON file, or - for stdin");
  for (const [flag, help] of VALUE_FLAGS) cmd.option(`--${flag} <value>`, help);
  cmd.action(async (id: string, f: Record<string, string | undefined>) => {
    const flags: string[] = [];
    if (f["resources"] !== undefined) {
      const r = f["resources"] === "-" ? "-" : resolve(f["resources"]);
      if (r !== "-" && !existsSync(r)) throw new InvalidArgumentError(`--resources ${r}: no such file`);
      flags.push(`--resources=${r}`);
    }
    for (const [flag, , pattern] of VALUE_FLAGS) {
      const v = f[camel(flag)];
      if (v === undefined) continue;
      if (!pattern.test(v)) throw new InvalidArgumentError(`invalid value for --${flag}: ${JSON.stringify(v)}`);
      flags.push(`--${flag}=${v}`);
    }
    if (flags.length === 0) throw new InvalidArgumentError("update needs --resources or at least one resource flag");
    await (await ctx.runtime()).update(id, flags);
  });
}
