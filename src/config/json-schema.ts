import { toJSONSchema } from "zod/mini";
import { configSchema } from "./schema.js";

/** The JSON Schema of the config file, generated from the zod schema (docs/config.schema.json). */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...(toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>),
    title: "nexcage configuration",
  };
}
