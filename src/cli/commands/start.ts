import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("start")
    .description("start the user-defined process of a created container")
    .argument("<container-id>")
    .action(async (id: string) => {
      await (await ctx.runtime()).start(id);
    });
}
