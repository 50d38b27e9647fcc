import type { Command } from "commander";
import { InvalidArgumentError } from "../../errors.js";
import { parseSignal } from "../../oci/signals.js";
import type { CliContext } from "../context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("kill")
    .description("send a signal (default SIGTERM) to the container's init process")
    .argument("<container-id>")
    .argument("[signal]", "signal name (TERM, SIGKILL, rtmin+1) or number 1-64")
    .option("-a, --all", "send the signal to all processes in the container")
    .option("-s, --signal <signal>", "the signal, as a flag (same as the positional argument)")
    .action(async (id: string, positional: string | undefined, flags: { all?: boolean; signal?: string }) => {
      if (positional !== undefined && flags.signal !== undefined && positional !== flags.signal) {
        throw new InvalidArgumentError("give the signal once: either positional or --signal");
      }
      const signal = parseSignal(positional ?? flags.signal ?? "SIGTERM");
      await (await ctx.runtime()).kill(id, signal, flags.all === true);
    });
}
