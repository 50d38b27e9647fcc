import type { Command } from "commander";
import { removeImage } from "../../images/remove.js";
import type { CliContext } from "../context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("rmi")
    .description("remove a template or pulled image from template storage unless a container uses it")
    .argument("<reference>", "volume id, template file name or image reference")
    .option("--storage <id>", "template storage (default: images.storage, else the proxmox-lxc template storage)")
    .action(async (reference: string, flags: { storage?: string }) => {
      const runtime = await ctx.runtime();
      const entry = removeImage(ctx.config().config, reference, flags.storage, runtime.records());
      ctx.out(`Deleted: ${entry.volid}\n`);
    });
}
