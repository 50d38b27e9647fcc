import { Command, Option } from "commander";
import { InvalidArgumentError } from "../errors.js";
import { CliContext, DEFAULT_ROOT } from "./context.js";
import { versionText } from "./commands/version.js";
import { writeOut } from "./write-fd.js";

type Register = (program: Command, ctx: CliContext) => void;

/**
 * One module per command, loaded only when its command runs (or for help and errors, where the whole
 * program is built). The order is the order of `nexcage --help`.
 */
const COMMANDS: ReadonlyArray<{ names: readonly string[]; load: () => Promise<{ register: Register }> }> = [
  { names: ["create"], load: () => import("./commands/create.js") },
  { names: ["start"], load: () => import("./commands/start.js") },
  { names: ["state"], load: () => import("./commands/state.js") },
  { names: ["kill"], load: () => import("./commands/kill.js") },
  { names: ["delete"], load: () => import("./commands/delete.js") },
  { names: ["run"], load: () => import("./commands/run.js") },
  { names: ["exec"], load: () => import("./commands/exec.js") },
  { names: ["ps"], load: () => import("./commands/ps.js") },
  { names: ["pause", "resume"], load: () => import("./commands/pause.js") },
  { names: ["update"], load: () => import("./commands/update.js") },
  { names: ["list", "ls"], load: () => import("./commands/list.js") },
  { names: ["spec"], load: () => import("./commands/spec.js") },
  { names: ["features"], load: () => import("./commands/features.js") },
  { names: ["stop"], load: () => import("./commands/stop.js") },
  { names: ["health"], load: () => import("./commands/health.js") },
  { names: ["version"], load: () => import("./commands/version.js") },
  { names: ["pull"], load: () => import("./commands/pull.js") },
  { names: ["images"], load: () => import("./commands/images.js") },
  { names: ["rmi"], load: () => import("./commands/rmi.js") },
];

/** Help goes straight to fd 1 (written before main exits); errors are reported once, as one line, by main.ts. */
const OUTPUT = { writeOut: (text: string) => writeOut(text), writeErr: () => {}, outputError: () => {} };

/** Thrown to stop parsing once --version was printed. */
export class VersionShown extends Error {}

/**
 * The commander program: global flags first (as containerd passes them), one file per command.
 * With a command name, just that command is registered, with "none" no command (for --version);
 * main falls back to the whole program when commander finds another command word. Without
 * `only`, every command and `help`.
 */
export async function buildProgram(only?: string | "none"): Promise<{ program: Command; ctx: CliContext; complete: boolean }> {
  const program = new Command("nexcage");
  const ctx = new CliContext(program);
  program
    .description("OCI runtime that routes each container to crun, runc, Proxmox LXC or Proxmox VM")
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput(OUTPUT)
    .showSuggestionAfterError(false)
    .option("--root <dir>", "root directory for container state", DEFAULT_ROOT)
    .option("--log <file>", "write log lines to this file (containerd reads errors from it)")
    .addOption(new Option("--log-format <format>", "log format").choices(["text", "json"]).default("text"))
    .option("--debug", "log debug messages (routing decisions, backend calls)")
    .option("--systemd-cgroup", "use systemd to manage the container's cgroups")
    .option("--config <file>", "nexcage configuration file (default: $NEXCAGE_CONFIG, /etc/nexcage/config.json)")
    .option("-v, --version", "print the version")
    .on("option:version", () => {
      writeOut(versionText(ctx));
      ctx.exitCode = 0;
      throw new VersionShown();
    });
  const one = only === undefined ? undefined : COMMANDS.find((c) => c.names.includes(only));
  const chosen = only === "none" ? [] : one ? [one] : COMMANDS;
  const modules = await Promise.all(chosen.map((c) => c.load()));
  for (const m of modules) m.register(program, ctx);
  const complete = chosen === COMMANDS;
  if (complete) addHelpCommand(program);
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput(OUTPUT).showSuggestionAfterError(false);
  }
  return { program, ctx, complete };
}

/** `help [command]`: an unknown topic is an error (one line), not a usage dump with exit 1. */
function addHelpCommand(program: Command): void {
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
}
