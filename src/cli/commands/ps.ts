import { Option, type Command } from "commander";
import { run } from "../../exec/run.js";
import { BackendError } from "../../errors.js";
import type { CliContext } from "../context.js";
import { filterPsTable } from "../ps-table.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("ps")
    .description("list the processes running in a container (JSON: host pids; table: ps output)")
    .argument("<container-id>")
    .argument("[ps-options...]", "options for ps(1) in table format (default -ef)")
    .passThroughOptions()
    .addOption(new Option("-f, --format <format>", "table or json").choices(["table", "json"]).default("table"))
    .action(async (id: string, psOptions: string[], flags: { format: "table" | "json" }) => {
      const runtime = await ctx.runtime();
      if (flags.format === "json") {
        ctx.out(`${JSON.stringify(await runtime.ps(id))}\n`);
        return;
      }
      const options = psOptions.length > 0 ? psOptions : ["-ef"];
      const { pids, text } = await runtime.psTable(id, options);
      ctx.out(filterPsTable(text ?? (await hostPs(options)), pids));
    });
}

async function hostPs(options: readonly string[]): Promise<string> {
  const r = await run("ps", options, { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new BackendError(`ps failed: ${(r.stderr || r.spawnError?.message || "").trim()}`);
  return r.stdout;
}
