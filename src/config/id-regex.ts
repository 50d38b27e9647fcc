import { setFlagsFromString } from "node:v8";

/**
 * The regular expressions of routing rules (`idRegex`) run on container ids, which come from
 * whoever calls nexcage; a rule like `(a+)+$` backtracks exponentially on an id that almost
 * matches (node: 20 s for 32 characters, minutes for 128). Two bounds, both runtimes:
 * - under node, V8 switches a regular expression to its linear-time engine once it has backtracked
 *   too often (V8's --enable-experimental-regexp-engine-on-excessive-backtracks, set before the
 *   first rule is compiled); Bun's JavaScriptCore stops a match at its own backtracking limit;
 * - backreferences and lookarounds, which the linear engine cannot run, are refused in the config
 *   (idRegexProblem), so no accepted rule escapes the first bound.
 */
declare const Bun: unknown;

let bounded = false;

/** Pure: why `source` is not allowed as an idRegex, or undefined. */
export function idRegexProblem(source: string): string | undefined {
  if (/\\[1-9]|\\k</.test(source)) return "backreferences are not allowed (they can take exponential time)";
  if (/\(\?<?[=!]/.test(source)) return "lookarounds are not allowed (they can take exponential time)";
  return undefined;
}

/** The compiled rule, matched in bounded time. */
export function idRegExp(source: string): RegExp {
  if (!bounded) {
    if (typeof Bun === "undefined") setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");
    bounded = true;
  }
  return new RegExp(source);
}
