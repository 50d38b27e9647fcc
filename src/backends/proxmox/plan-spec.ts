import { array, boolean, int, looseObject, minLength, nonnegative, number, optional, record, string, union, type output } from "zod/mini";
import { InvalidArgumentError } from "../../errors.js";
import { validate } from "../../validation.js";

/** The parts of config.json both Proxmox mappings read (everything else is checked or noted by each plan). */
const count = () => int().check(nonnegative());
const mountSchema = looseObject({ destination: string(), type: optional(string()), source: optional(string()), options: optional(array(string())) });
const planSpecSchema = looseObject({
  process: looseObject({
    terminal: optional(boolean()),
    args: array(string()).check(minLength(1)),
    env: optional(array(string())),
    cwd: string(),
    user: optional(looseObject({ uid: count(), gid: count(), additionalGids: optional(array(count())), username: optional(string()) })),
    rlimits: optional(array(looseObject({ type: string(), soft: number(), hard: number() }))),
    capabilities: optional(looseObject({ bounding: optional(array(string())) })),
    noNewPrivileges: optional(boolean()),
  }),
  root: looseObject({ path: string(), readonly: optional(boolean()) }),
  hostname: optional(string()),
  annotations: optional(record(string(), string())),
  mounts: optional(array(mountSchema)),
  hooks: optional(record(string(), array(looseObject({})))),
  linux: optional(
    looseObject({
      namespaces: optional(array(looseObject({ type: string(), path: optional(string()) }))),
      resources: optional(
        looseObject({
          memory: optional(looseObject({ limit: optional(number()), swap: optional(number()) })),
          cpu: optional(looseObject({ shares: optional(number()), quota: optional(number()), period: optional(number()), cpus: optional(string()) })),
        }),
      ),
      sysctl: optional(record(string(), union([string(), number()]))),
    }),
  ),
});
export type PlanSpec = output<typeof planSpecSchema>;

/** config.json → the typed parts a plan reads; the first problem names its path. */
export function parsePlanSpec(spec: unknown): PlanSpec {
  const parsed = validate(planSpecSchema, spec);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new InvalidArgumentError(`config.json: ${issue?.path.map(String).join(".") || "(top)"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** Number of CPUs in a cpuset list such as `0-2,5`. */
export function countCpus(set: string): number {
  let n = 0;
  for (const part of set.split(",")) {
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(part.trim());
    const a = Number(m?.[1]);
    const b = m?.[2] === undefined ? a : Number(m[2]);
    if (!m || b < a) throw new InvalidArgumentError(`linux.resources.cpu.cpus: invalid cpu set ${JSON.stringify(set)}`);
    n += b - a + 1;
  }
  return n;
}
