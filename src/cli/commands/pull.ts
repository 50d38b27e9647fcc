import type { Command } from "commander";
import { pullImage, registryReference } from "../../images/pull.js";
import { isatty } from "node:tty";
import type { CliContext } from "../context.js";
import { writeErr } from "../write-fd.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("pull")
    .description("pull an image from a registry into template storage as an OCI archive (prints its volume id)")
    .argument("<reference>", "image reference, e.g. alpine:3.20 or ghcr.io/org/app:1.2")
    .option("--storage <id>", "template storage (default: images.storage, else the proxmox-lxc template storage)")
    .option("--authfile <file>", "registry credentials (containers-auth.json)")
    .action(async (reference: string, flags: { storage?: string; authfile?: string }) => {
      const ref = registryReference(reference);
      const entry = await pullImage(ctx.config().config, await ctx.log(), ref, {
        storage: flags.storage,
        authFile: flags.authfile,
        progress: isatty(2),
      });
      if (isatty(2)) writeErr(`Digest: ${entry.digest ?? "unknown"}\n`);
      ctx.out(`${entry.volid}\n`);
    });
}
