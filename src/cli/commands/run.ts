import { Option, type Command } from "commander";
import type { CliContext } from "../context.js";
import { createOptions, toCreateOptions, type CreateFlags } from "../options.js";

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("run")
    .description("create and start a container; wait for it and exit with its exit code unless --detach")
    .argument("<container-id>", "unique name of the container instance");
  for (const o of createOptions()) cmd.addOption(o);
  cmd.addOption(new Option("-d, --detach", "detach from the container's process"));
  cmd.action(async (id: string, flags: CreateFlags & { detach?: boolean }) => {
    ctx.exitCode = await (await ctx.runtime()).run({ ...toCreateOptions(id, flags, cmd.getOptionValueSource("bundle") === "cli"), detach: flags.detach === true });
  });
}
