// Types of common.mjs for the TypeScript bench scripts (containerd-pod.ts).
export function parseBenchArgs<T extends object>(
  args: readonly string[],
  spec: { counts: Record<string, number>; switches?: readonly string[] },
  opts: T,
  usage: (msg?: string) => never,
): T;
export function quantile(xs: readonly number[], q: number): number;
export const med: (xs: readonly number[]) => number;
export const p90: (xs: readonly number[]) => number;
export const f1: (x: number) => string;
export const cell: (xs: readonly number[]) => string;
export const ratio: (a: number, b: number) => string;
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string;
export function nexcageCommand(path: string): { cmd: string; pre: string[] };
export const loadavg: (readFileSync: (p: string, enc: "utf8") => string) => string;
export function childrenCpuMs(readFileSync: (p: string, enc: "utf8") => string): number;
export const mean: (xs: readonly number[]) => number;
