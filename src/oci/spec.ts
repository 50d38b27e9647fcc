import { array, boolean, looseObject, record, string, type output } from "zod";

/**
 * The parts of a runtime-spec config.json that nexcage itself reads. Everything else is passed to
 * the backend untouched, so unknown keys are kept (loose objects), but what we read is type-checked.
 */
export const processSchema = looseObject({
  terminal: boolean().optional(),
  args: array(string()).min(1, "process.args must not be empty"),
  env: array(string()).optional(),
  cwd: string().min(1),
});

export const specSchema = looseObject({
  ociVersion: string().min(1),
  process: processSchema.optional(),
  root: looseObject({ path: string().min(1), readonly: boolean().optional() }).optional(),
  hostname: string().optional(),
  annotations: record(string(), string()).optional(),
});

export type Spec = output<typeof specSchema>;
