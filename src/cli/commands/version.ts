import type { Command } from "commander";
import { crunDriver } from "../../backends/crun/driver.js";
import { DEFAULTS_SOURCE, parseConfig } from "../../config/load.js";
import { OCI_VERSION } from "../../oci/state.js";
import type { CliContext } from "../context.js";

import { COMMIT, VERSION } from "../../build-id.js";

export { COMMIT, VERSION };

/** Like `crun --version`: version, commit, spec, and which crun driver this host and config give. */
export function versionText(ctx?: CliContext): string {
  let driver: string;
  try {
    const config = ctx ? ctx.config().config : parseConfig({}, DEFAULTS_SOURCE);
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
