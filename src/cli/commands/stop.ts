import type { Command } from "commander";
import { parseSignal } from "../../oci/signals.js";
import type { CliContext } from "../context.js";
import { nonNegativeInt } from "../options.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("stop")
    .description("send SIGTERM, wait for the container to stop, then SIGKILL all its processes")
    .argument("<container-id>")
    .option("-t, --timeout <seconds>", "seconds to wait before SIGKILL", nonNegativeInt("--timeout"), 10)
    .action(async (id: string, flags: { timeout: number }) => {
      await (await ctx.runtime()).stop(id, flags.timeout, parseSignal("TERM"), parseSignal("KILL"));
    });
}
