import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { createOptions, toCreateOptions, type CreateFlags } from "../options.js";

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("create")
    .description("create a container from an OCI bundle")
    .argument("<container-id>", "unique name of the container instance");
  for (const o of createOptions()) cmd.addOption(o);
  cmd.action(async (id: string, flags: CreateFlags) => {
    await (await ctx.runtime()).create(toCreateOptions(id, flags, cmd.getOptionValueSource("bundle") === "cli"));
  });
}
