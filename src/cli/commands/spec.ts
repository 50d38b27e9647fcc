import { existsSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { InvalidArgumentError } from "../../errors.js";
import { defaultSpec } from "../../oci/default-spec.js";
import type { CliContext } from "../context.js";

export function register(program: Command, _ctx: CliContext): void {
  program
    .command("spec")
    .description("write a default config.json into the bundle directory")
    .option("-b, --bundle <dir>", "path to the root of the bundle directory", ".")
    .option("--rootless", "generate a configuration for a rootless container")
    .action((flags: { bundle: string; rootless?: boolean }) => {
      const dir = resolve(flags.bundle);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InvalidArgumentError(`bundle ${dir}: no such directory`);
      const path = join(dir, "config.json");
      if (existsSync(path)) throw new InvalidArgumentError(`File ${path} exists. Remove it first`);
      const spec = defaultSpec({ rootless: flags.rootless === true, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
      try {
        writeFileSync(path, `${JSON.stringify(spec, null, "\t")}\n`, { flag: "wx" });
      } catch (e) {
        throw new InvalidArgumentError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    });
}
