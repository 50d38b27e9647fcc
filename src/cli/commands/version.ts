import type { Command } from "commander";
import { crunDriver } from "../../backends/crun/driver.js";
import { parseConfig } from "../../config/load.js";
import { OCI_VERSION } from "../../oci/state.js";
import type { CliContext } from "../context.js";

declare const __NEXCAGE_VERSION__: string | undefined;
declare const __NEXCAGE_COMMIT__: string | undefined;

export const VERSION = typeof __NEXCAGE_VERSION__ === "string" ? __NEXCAGE_VERSION__ : "0.0.0-dev";
export const COMMIT = typeof __NEXCAGE_COMMIT__ === "string" ? __NEXCAGE_COMMIT__ : "unknown";

/** Like `crun --version`: version, commit, spec, and which crun driver this host and config give. */
export function versionText(ctx?: CliContext): string {
  let driver: string;
  try {
    const config = ctx ? ctx.config().config : parseConfig({}, "built-in defaults");
    const choice = crunDriver({ config });
    driver = choice.driver === "libcrun" ? `libcrun (${choice.libraryPath})` : `cli (${choice.reason})`;
  } catch (e) {
    driver = `unknown (${(e as Error).message})`;
  }
  return `nexcage version ${VERSION}\ncommit: ${COMMIT}\nspec: ${OCI_VERSION}\ncrun driver: ${driver}\n`;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("version")
    .description("print the version")
    .action(() => ctx.out(versionText(ctx)));
}
