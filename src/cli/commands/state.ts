import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("state")
    .description("print the OCI state of a container as JSON, with its live status")
    .argument("<container-id>")
    .action(async (id: string) => {
      const state = await (await ctx.runtime()).state(id);
      ctx.out(`${JSON.stringify(state, null, 2)}\n`);
    });
}
