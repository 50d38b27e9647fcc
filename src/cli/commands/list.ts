import { Option, type Command } from "commander";
import type { CliContext } from "../context.js";

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join("").trimEnd()).join("\n") + "\n";
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("list")
    .alias("ls")
    .description("list containers under the root")
    .addOption(new Option("-f, --format <format>", "table or json").choices(["table", "json"]).default("table"))
    .option("-q, --quiet", "display only container IDs")
    .action(async (flags: { format: "table" | "json"; quiet?: boolean }) => {
      const states = await (await ctx.runtime()).list();
      if (flags.quiet) {
        ctx.out(states.map((s) => `${s.id}\n`).join(""));
      } else if (flags.format === "json") {
        ctx.out(`${JSON.stringify(states)}\n`);
      } else {
        const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER", "BACKEND"]];
        for (const s of states) rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner, s.backend]);
        ctx.out(table(rows));
      }
    });
}
