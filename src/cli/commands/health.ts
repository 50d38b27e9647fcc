import type { Command } from "commander";
import { NexcageError } from "../../errors.js";
import type { CliContext } from "../context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("health")
    .description("check every configured backend's tools and versions")
    .action(async () => {
      const reports = await (await ctx.runtime()).health();
      const source = ctx.config().source;
      ctx.out(`config: ${source}\n`);
      for (const r of reports) {
        ctx.out(`${r.name}${r.isDefault ? " (default)" : ""}: ${r.ok ? "ok" : "UNAVAILABLE"}\n`);
        for (const d of r.details) ctx.out(`  ${d}\n`);
      }
      const def = reports.find((r) => r.isDefault);
      if (!def || !def.ok) throw new NexcageError(`default backend ${def?.name ?? "?"} is unusable`);
    });
}
