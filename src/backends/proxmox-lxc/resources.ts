import { InvalidArgumentError, UnsupportedError } from "../../errors.js";
import { countCpus } from "../proxmox/plan-spec.js";

/** The parts of runtime-spec LinuxResources a Proxmox CT has options for. */
export interface CtResources {
  readonly memory?: { readonly limit?: number; readonly swap?: number };
  readonly cpu?: { readonly shares?: number; readonly quota?: number; readonly period?: number; readonly cpus?: string };
}

const MiB = 1024 * 1024;

/**
 * Pure: LinuxResources → `pct create|set` options (--memory, --swap, --cores, --cpulimit,
 * --cpuunits), as `pct set` applies them live on a running CT. What is replaced by a Proxmox
 * default is pushed onto `notes`.
 */
export function resourceOptions(r: CtResources | undefined, notes: string[]): string[] {
  const opts: string[] = [];
  const mem = r?.memory;
  if (mem?.limit !== undefined && mem.limit > 0) {
    const memMiB = Math.max(16, Math.ceil(mem.limit / MiB));
    opts.push("--memory", String(memMiB));
    if (mem.swap !== undefined) {
      const swapMiB = mem.swap < 0 ? 0 : Math.max(0, Math.ceil(mem.swap / MiB) - memMiB);
      if (mem.swap < 0) notes.push("memory.swap -1 (unlimited) mapped to swap 0: Proxmox needs a size");
      opts.push("--swap", String(swapMiB));
    }
  }
  const cpu = r?.cpu;
  if (cpu?.cpus !== undefined && cpu.cpus !== "") opts.push("--cores", String(Math.min(8192, countCpus(cpu.cpus))));
  if (cpu?.quota !== undefined && cpu.quota > 0) {
    const period = cpu.period && cpu.period > 0 ? cpu.period : 100_000;
    opts.push("--cpulimit", String(Math.min(8192, Math.round((cpu.quota / period) * 100) / 100)));
  }
  if (cpu?.shares !== undefined && cpu.shares > 0) opts.push("--cpuunits", String(Math.min(500_000, Math.round(cpu.shares))));
  return opts;
}

/** runc's update flags a CT has an option for; the others are refused. */
const FLAG_KEYS: Readonly<Record<string, (r: { memory: Record<string, number>; cpu: Record<string, number | string> }, v: string) => void>> = {
  memory: (r, v) => (r.memory["limit"] = bytes(v)),
  "memory-swap": (r, v) => (r.memory["swap"] = bytes(v)),
  "cpu-quota": (r, v) => (r.cpu["quota"] = Number(v)),
  "cpu-period": (r, v) => (r.cpu["period"] = Number(v)),
  "cpu-share": (r, v) => (r.cpu["shares"] = Number(v)),
  "cpuset-cpus": (r, v) => (r.cpu["cpus"] = v),
};

/** A size as runc's update takes it: bytes, or with k/m/g/t (binary), an optional b; -1 stays -1. */
function bytes(v: string): number {
  const m = /^(-?[0-9]+)([kKmMgGtT]?)[bB]?$/.exec(v);
  if (!m) throw new InvalidArgumentError(`invalid size ${JSON.stringify(v)}`);
  const unit = { "": 1, k: 1024, m: MiB, g: 1024 * MiB, t: 1024 * 1024 * MiB }[m[2]!.toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return Number(m[1]) * unit;
}

/**
 * Pure: `update`'s flags (as the CLI passes them: `--flag=value`, `--resources=<file|->`) and the
 * text of that resources file → the resources to set. A flag Proxmox has no option for is refused;
 * of a LinuxResources document (containerd's `update -r -`) memory and cpu are taken, the rest is noted.
 */
export function updateResources(flags: readonly string[], readResources: (src: string) => string, notes: string[]): CtResources {
  const r = { memory: {} as Record<string, number>, cpu: {} as Record<string, number | string> };
  for (const flag of flags) {
    const m = /^--([a-z0-9-]+)=(.*)$/s.exec(flag);
    if (!m) throw new InvalidArgumentError(`update: unexpected flag ${JSON.stringify(flag)}`);
    const [, name, value] = m as unknown as [string, string, string];
    if (name === "resources") {
      let doc: { memory?: Record<string, unknown>; cpu?: Record<string, unknown>; [k: string]: unknown };
      try {
        doc = JSON.parse(readResources(value)) as typeof doc;
      } catch (e) {
        throw new InvalidArgumentError(`update --resources: not JSON: ${(e as Error).message}`);
      }
      for (const [k, v] of Object.entries(doc.memory ?? {})) if ((k === "limit" || k === "swap") && typeof v === "number") r.memory[k] = v;
      for (const [k, v] of Object.entries(doc.cpu ?? {})) if (["shares", "quota", "period"].includes(k) ? typeof v === "number" : k === "cpus" && typeof v === "string") r.cpu[k] = v as number | string;
      for (const k of Object.keys(doc)) if (!["memory", "cpu"].includes(k) && doc[k] !== null) notes.push(`update: ${k} is not changed (Proxmox has no live option for it)`);
      continue;
    }
    const set = FLAG_KEYS[name];
    if (set === undefined) throw new UnsupportedError(`proxmox-lxc cannot honour update --${name}`);
    set(r, value);
  }
  if (r.memory["swap"] !== undefined && r.memory["limit"] === undefined) throw new UnsupportedError("proxmox-lxc cannot honour a swap limit without a memory limit (Proxmox sets swap beside memory)");
  return r as CtResources;
}
