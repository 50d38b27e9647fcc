import { z } from "zod";

/**
 * The parts of a runtime-spec config.json that nexcage itself reads. Everything else is passed to
 * the backend untouched, so unknown keys are kept (loose objects), but what we read is type-checked.
 */
export const processSchema = z.looseObject({
  terminal: z.boolean().optional(),
  args: z.array(z.string()).min(1, "process.args must not be empty"),
  env: z.array(z.string()).optional(),
  cwd: z.string().min(1),
});

export const specSchema = z.looseObject({
  ociVersion: z.string().min(1),
  process: processSchema.optional(),
  root: z.looseObject({ path: z.string().min(1), readonly: z.boolean().optional() }).optional(),
  hostname: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export type Spec = z.infer<typeof specSchema>;
