import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { InvalidArgumentError } from "../../errors.js";
import type { CliContext } from "../context.js";
import { nonNegativeInt } from "../options.js";

const collect = (value: string, previous: string[]) => [...previous, value];

interface ExecFlags {
  consoleSocket?: string;
  cwd?: string;
  env: string[];
  tty?: boolean;
  user?: string;
  additionalGids: string[];
  process?: string;
  detach?: boolean;
  pidFile?: string;
  processLabel?: string;
  apparmor?: string;
  noNewPrivs?: boolean;
  cap: string[];
  preserveFds: number;
  cgroup?: string;
  ignorePaused?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("exec")
    .description("run a new process inside the container (from --process FILE or the command line)")
    .argument("<container-id>")
    .argument("[command...]", "command and arguments (when no --process is given)")
    .passThroughOptions()
    .option("--console-socket <path>", "path to an AF_UNIX socket which will receive the pty master fd")
    .option("--cwd <dir>", "current working directory in the container")
    .option("-e, --env <var>", "set an environment variable (repeatable)", collect, [])
    .option("-t, --tty", "allocate a pseudo-TTY")
    .option("-u, --user <uid[:gid]>", "user id and optional group id")
    .addOption(new Option("-g, --additional-gids <gid>", "additional gid (repeatable)").argParser(collect).default([]))
    .option("-p, --process <file>", "path to a process.json (runtime-spec Process)")
    .option("-d, --detach", "detach from the process; with --pid-file, its pid lands there")
    .option("--pid-file <path>", "file to write the process id to")
    .option("--process-label <label>", "SELinux label for the process")
    .option("--apparmor <profile>", "AppArmor profile for the process")
    .option("--no-new-privs", "set no_new_privs for the process")
    .option("-c, --cap <cap>", "add a capability to the process's bounding set (repeatable)", collect, [])
    .option("--preserve-fds <n>", "pass N additional file descriptors to the process", nonNegativeInt("--preserve-fds"), 0)
    .option("--cgroup <path>", "run the process in this sub-cgroup")
    .option("--ignore-paused", "allow exec in a paused container")
    .action(async (id: string, command: string[], f: ExecFlags) => {
      if (f.process === undefined && command.length === 0) {
        throw new InvalidArgumentError("exec needs a command or --process FILE");
      }
      if (f.process !== undefined && command.length > 0) {
        throw new InvalidArgumentError("exec takes either --process FILE or a command, not both");
      }
      const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
      ctx.exitCode = await (await ctx.runtime()).exec(id, {
        processFile: abs(f.process),
        args: command,
        detach: f.detach === true,
        pidFile: abs(f.pidFile),
        consoleSocket: abs(f.consoleSocket),
        tty: f.tty === true,
        cwd: f.cwd,
        env: f.env,
        user: f.user,
        additionalGids: f.additionalGids,
        // commander turns --no-new-privs into newPrivs: false
        noNewPrivs: (f as { newPrivs?: boolean }).newPrivs === false,
        caps: f.cap,
        preserveFds: f.preserveFds,
        processLabel: f.processLabel,
        apparmor: f.apparmor,
        cgroup: f.cgroup,
        ignorePaused: f.ignorePaused === true,
      });
    });
}
