import type { Command } from "commander";
import { BACKEND_NAMES } from "../../names.js";
import { featuresDocument } from "../../oci/features.js";
import type { CliContext } from "../context.js";
import { VERSION } from "./version.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("features")
    .description("print the features nexcage supports, as JSON (runc's shape)")
    .action(() => {
      ctx.out(`${JSON.stringify(featuresDocument(VERSION, BACKEND_NAMES), null, 2)}\n`);
    });
}
