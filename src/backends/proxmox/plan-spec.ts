import { array, boolean, looseObject, number, record, string, union, type output } from "zod";
import { InvalidArgumentError } from "../../errors.js";

/** The parts of config.json both Proxmox mappings read (everything else is checked or noted by each plan). */
const mountSchema = looseObject({ destination: string(), type: string().optional(), source: string().optional(), options: array(string()).optional() });
const planSpecSchema = looseObject({
  process: looseObject({
    terminal: boolean().optional(),
    args: array(string()).min(1),
    env: array(string()).optional(),
    cwd: string(),
    user: looseObject({ uid: number().int().nonnegative(), gid: number().int().nonnegative(), additionalGids: array(number().int().nonnegative()).optional(), username: string().optional() }).optional(),
    rlimits: array(looseObject({ type: string(), soft: number(), hard: number() })).optional(),
    capabilities: looseObject({ bounding: array(string()).optional() }).optional(),
    noNewPrivileges: boolean().optional(),
  }),
  root: looseObject({ path: string(), readonly: boolean().optional() }),
  hostname: string().optional(),
  annotations: record(string(), string()).optional(),
  mounts: array(mountSchema).optional(),
  hooks: record(string(), array(looseObject({}))).optional(),
  linux: looseObject({
    namespaces: array(looseObject({ type: string(), path: string().optional() })).optional(),
    resources: looseObject({
      memory: looseObject({ limit: number().optional(), swap: number().optional() }).optional(),
      cpu: looseObject({ shares: number().optional(), quota: number().optional(), period: number().optional(), cpus: string().optional() }).optional(),
    }).optional(),
    sysctl: record(string(), union([string(), number()])).optional(),
  }).optional(),
});
export type PlanSpec = output<typeof planSpecSchema>;

/** config.json → the typed parts a plan reads; the first problem names its path. */
export function parsePlanSpec(spec: unknown): PlanSpec {
  const parsed = planSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
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
