import { Option, type Command } from "commander";
import { listTemplateDir } from "../../images/image-store.js";
import { allTemplateStorages, resolveStorage } from "../../images/template-storage.js";
import { imagesTable } from "../../images/table.js";
import type { CliContext } from "../context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("images")
    .description("list Proxmox templates and pulled OCI images in template storage")
    .option("--storage <id>", "only this storage (default: every storage with template content)")
    .addOption(new Option("-f, --format <format>", "table or json").choices(["table", "json"]).default("table"))
    .option("-q, --quiet", "display only volume ids")
    .action((flags: { storage?: string; format: "table" | "json"; quiet?: boolean }) => {
      const cfg = ctx.config().config;
      const storages = flags.storage !== undefined ? [resolveStorage(cfg, flags.storage)] : allTemplateStorages(cfg);
      const entries = storages.flatMap((s) => listTemplateDir(s.id, s.dir));
      if (flags.quiet) ctx.out(entries.map((e) => `${e.volid}\n`).join(""));
      else if (flags.format === "json") ctx.out(`${JSON.stringify(entries)}\n`);
      else ctx.out(imagesTable(entries));
    });
}
