import type { Config, RoutingRule } from "../config/schema.js";
import { BACKEND_NAMES, type BackendName } from "../names.js";
import { idRegExp } from "../config/id-regex.js";
import { InvalidArgumentError } from "../errors.js";

/** A bundle annotation naming a backend always wins over the rules. */
export const BACKEND_ANNOTATION = "org.nexcage.backend";

export interface Route {
  readonly backend: BackendName;
  /** Why, for --debug and the record. */
  readonly reason: string;
}

/**
 * Glob match over the whole text: `*` any run, `?` one character, everything else literal. Linear
 * two-pointer matching with one backtrack point, never a regular expression (a regex with many `.*`
 * backtracks exponentially on ids that almost match).
 */
export function globMatch(pattern: string, text: string): boolean {
  const p = Array.from(pattern);
  const t = Array.from(text);
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === "?" || (p[pi] !== "*" && p[pi] === t[ti]))) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

const own = (o: Readonly<Record<string, string>>, key: string): string | undefined =>
  Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;

function ruleMatches(rule: RoutingRule, id: string, annotations: Readonly<Record<string, string>>, root: string | undefined): boolean {
  if (rule.id !== undefined && !globMatch(rule.id, id)) return false;
  if (rule.root !== undefined && (root === undefined || !globMatch(rule.root, root))) return false;
  if (rule.idRegex !== undefined && !idRegExp(rule.idRegex).test(id)) return false;
  if (rule.annotations) {
    for (const [key, valueGlob] of Object.entries(rule.annotations)) {
      const value = own(annotations, key);
      if (value === undefined || !globMatch(valueGlob, value)) return false;
    }
  }
  return true;
}

/**
 * Pure: id + bundle annotations + config (+ the absolute --root nexcage was called with, which a
 * containerd runtime entry sets per RuntimeClass) → backend, with the reason.
 */
export function route(id: string, annotations: Readonly<Record<string, string>>, config: Config, root?: string): Route {
  const pinned = own(annotations, BACKEND_ANNOTATION);
  if (pinned !== undefined) {
    if (!(BACKEND_NAMES as readonly string[]).includes(pinned)) {
      throw new InvalidArgumentError(
        `annotation ${BACKEND_ANNOTATION}=${JSON.stringify(pinned)} names no backend (one of ${BACKEND_NAMES.join(", ")})`,
      );
    }
    return { backend: pinned as BackendName, reason: `annotation ${BACKEND_ANNOTATION}` };
  }
  for (const [index, rule] of config.routing.entries()) {
    if (ruleMatches(rule, id, annotations, root)) {
      return { backend: rule.backend, reason: `routing rule ${rule.name ?? `#${index + 1}`}` };
    }
  }
  return { backend: config.defaultBackend, reason: "defaultBackend" };
}
