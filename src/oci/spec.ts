import { array, boolean, looseObject, minLength, optional, record, string, type output } from "zod/mini";

/**
 * The parts of a runtime-spec config.json that nexcage itself reads. Everything else is passed to
 * the backend untouched, so unknown keys are kept (loose objects), but what we read is type-checked.
 */
export const processSchema = looseObject({
  terminal: optional(boolean()),
  args: array(string()).check(minLength(1, "process.args must not be empty")),
  env: optional(array(string())),
  cwd: string().check(minLength(1)),
});

export const specSchema = looseObject({
  ociVersion: string().check(minLength(1)),
  process: optional(processSchema),
  root: optional(looseObject({ path: string().check(minLength(1)), readonly: optional(boolean()) })),
  hostname: optional(string()),
  annotations: optional(record(string(), string())),
});

export type Spec = output<typeof specSchema>;
