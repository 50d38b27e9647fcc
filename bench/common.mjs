// Shared by the bench scripts: statistics, the text table, and how a nexcage path is run.
// Plain Node ESM, stdlib only.

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
