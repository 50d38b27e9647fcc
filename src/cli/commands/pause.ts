import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("pause")
    .description("suspend all processes in the container")
    .argument("<container-id>")
    .action(async (id: string) => (await ctx.runtime()).pause(id));
  program
    .command("resume")
    .description("resume all processes of a paused container")
    .argument("<container-id>")
    .action(async (id: string) => (await ctx.runtime()).resume(id));
}
