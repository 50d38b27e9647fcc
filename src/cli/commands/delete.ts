import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("delete")
    .description("delete a container and everything nexcage keeps for it")
    .argument("<container-id>")
    .option("-f, --force", "kill the container if it is running; succeed if it does not exist")
    .action(async (id: string, flags: { force?: boolean }) => {
      await (await ctx.runtime()).delete(id, flags.force === true);
    });
}
