// Writes docs/config.schema.json from the zod schema (run: npm run schema). A unit test checks it is current.
import { writeFileSync } from "node:fs";
import { configJsonSchema } from "../src/config/json-schema.js";

writeFileSync(new URL("../docs/config.schema.json", import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
