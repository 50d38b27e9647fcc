// Writes nexcage.1 and the bash completion from the CLI's commander tree:
//   tsx packaging/cli-docs/gen.ts OUTDIR VERSION DATE
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildProgram } from "../../src/cli/program.js";
import { bashCompletion } from "./completion.js";
import { manPage } from "./man.js";
import { cliDoc } from "./tree.js";

const [out, version, date] = process.argv.slice(2);
if (!out || !version || !date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
  process.stderr.write("usage: tsx packaging/cli-docs/gen.ts OUTDIR VERSION YYYY-MM-DD\n");
  process.exit(2);
}
const doc = cliDoc((await buildProgram()).program);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "nexcage.1"), manPage(doc, { version, date }));
writeFileSync(join(out, "nexcage.bash"), bashCompletion(doc));
