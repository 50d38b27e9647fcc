import type { Command } from "commander";
import { OCI_VERSION } from "../../oci/state.js";
import type { CliContext } from "../context.js";

declare const __NEXCAGE_VERSION__: string | undefined;
declare const __NEXCAGE_COMMIT__: string | undefined;

export const VERSION = typeof __NEXCAGE_VERSION__ === "string" ? __NEXCAGE_VERSION__ : "0.0.0-dev";
export const COMMIT = typeof __NEXCAGE_COMMIT__ === "string" ? __NEXCAGE_COMMIT__ : "unknown";

export function versionText(): string {
  return `nexcage version ${VERSION}\ncommit: ${COMMIT}\nspec: ${OCI_VERSION}\n`;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("version")
    .description("print the version")
    .action(() => ctx.out(versionText()));
}
