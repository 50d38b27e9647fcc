import { Command, Option } from "commander";
import { InvalidArgumentError } from "../errors.js";
import { CliContext, DEFAULT_ROOT } from "./context.js";
import { register as create } from "./commands/create.js";
import { register as del } from "./commands/delete.js";
import { register as health } from "./commands/health.js";
import { register as kill } from "./commands/kill.js";
import { register as list } from "./commands/list.js";
import { register as run } from "./commands/run.js";
import { register as spec } from "./commands/spec.js";
import { register as start } from "./commands/start.js";
import { register as state } from "./commands/state.js";
import { register as stop } from "./commands/stop.js";
import { register as version, versionText } from "./commands/version.js";
import { register as exec } from "./commands/exec.js";
import { register as ps } from "./commands/ps.js";
import { register as pauseResume } from "./commands/pause.js";
import { register as update } from "./commands/update.js";
import { register as features } from "./commands/features.js";
import { register as pull } from "./commands/pull.js";
import { register as images } from "./commands/images.js";
import { register as rmi } from "./commands/rmi.js";

/** The commander program: global flags first (as containerd passes them), one file per command. */
export function buildProgram(): { program: Command; ctx: CliContext } {
  const program = new Command("nexcage");
  const ctx = new CliContext(program);
  program
    .description("OCI runtime that routes each container to crun, runc, Proxmox LXC or Proxmox VM")
    .enablePositionalOptions()
    .exitOverride()
    // errors are reported once, as one line, by main.ts
    .configureOutput({ writeErr: () => {}, outputError: () => {} })
    .showSuggestionAfterError(false)
    .option("--root <dir>", "root directory for container state", DEFAULT_ROOT)
    .option("--log <file>", "write log lines to this file (containerd reads errors from it)")
    .addOption(new Option("--log-format <format>", "log format").choices(["text", "json"]).default("text"))
    .option("--debug", "log debug messages (routing decisions, backend calls)")
    .option("--systemd-cgroup", "use systemd to manage the container's cgroups")
    .option("--config <file>", "nexcage configuration file (default: $NEXCAGE_CONFIG, /etc/nexcage/config.json)")
    .option("-v, --version", "print the version")
    .on("option:version", () => {
      process.stdout.write(versionText(ctx));
      ctx.exitCode = 0;
      throw new VersionShown();
    });
  for (const reg of [create, start, state, kill, del, run, exec, ps, pauseResume, update, list, spec, features, stop, health, version, pull, images, rmi]) reg(program, ctx);
  // `help [command]`: an unknown topic is an error (one line), not a usage dump with exit 1
  program.helpCommand(false);
  program
    .command("help")
    .description("display help for a command")
    .argument("[command]")
    .action((name: string | undefined) => {
      if (name === undefined) return program.outputHelp();
      const cmd = program.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (!cmd || cmd.name() === "help") throw new InvalidArgumentError(`unknown command '${name}'`);
      cmd.outputHelp();
    });
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} }).showSuggestionAfterError(false);
  }
  return { program, ctx };
}

/** Thrown to stop parsing once --version was printed. */
export class VersionShown extends Error {}
