// Shared by the bench scripts: their flags, statistics, the text table, how a nexcage path is
// run, children's CPU time. Plain Node ESM, stdlib only.
import { resolve } from "node:path";

/**
 * Parses the bench flags into `opts`: `counts` maps a flag to its minimum (non-negative integers),
 * plus `--env as-is|clean|both`, `--nexcage PATH`, the given `switches` (set to true) and -h.
 * `--flag=value` works too. Bad input calls `usage(message)`, which exits.
 */
export function parseBenchArgs(args, { counts, switches = [] }, opts, usage) {
  for (let i = 0; i < args.length; i++) {
    const [k, v] = args[i].includes("=") ? args[i].split(/=(.*)/s, 2) : [args[i], undefined];
    const val = () => (v !== undefined ? v : i + 1 < args.length ? args[++i] : usage(`${k} needs a value`));
    if (k in counts) {
      const n = val();
      if (!/^[0-9]+$/.test(n) || Number(n) < counts[k]) usage(`bad ${k} ${n}`);
      opts[k.slice(2)] = Number(n);
    } else if (k === "--env") {
      const e = val();
      if (!["as-is", "clean", "both"].includes(e)) usage(`bad --env ${e}`);
      opts.env = e;
    } else if (k === "--nexcage") opts.nexcage = resolve(val());
    else if (switches.includes(k)) opts[k.slice(2)] = true;
    else if (k === "-h" || k === "--help") usage();
    else usage(`unknown argument ${args[i]}`);
  }
  return opts;
}

/** Linear-interpolation quantile; NaN for no data. */
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
export const med = (xs) => quantile(xs, 0.5);
export const p90 = (xs) => quantile(xs, 0.9);
export const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "-");
export const cell = (xs) => `${f1(med(xs))} / ${f1(p90(xs))}`;
export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) + "x" : "-");

/** A left-aligned first column, right-aligned others, a dashed rule under the header. */
export function table(header, rows) {
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n") + "\n";
}

/**
 * How to run the nexcage under test: a script (.mjs/.cjs/.js) with this node, anything else
 * (the shipped single binary, or a script through its own shebang) executed directly.
 */
export function nexcageCommand(path) {
  return /\.(mjs|cjs|js)$/.test(path) ? { cmd: process.execPath, pre: [path] } : { cmd: path, pre: [] };
}

export const loadavg = (readFileSync) => readFileSync("/proc/loadavg", "utf8").trim();

/**
 * CPU time (user+system, ms) of this process's waited-for children so far, from /proc/self/stat
 * (cutime + cstime, in clock ticks of 10 ms). One call's difference is coarse; summed over many
 * calls it gives a mean CPU per call that load on the machine disturbs far less than wall time.
 */
export function childrenCpuMs(readFileSync) {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields 16 and 17 (cutime, cstime) are f[13] and f[14] after the comm field
  return (Number(f[13]) + Number(f[14])) * 10;
}

export const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
