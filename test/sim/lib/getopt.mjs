// @ts-check
// PVE::JSONSchema::get_options on top of an emulation of Perl's Getopt::Long as PVE configures it:
// prefix_pattern (--|-), permute, auto_abbrev, ignore_case, getopt_compat ("-opt=value" works too).
// Every schema property is an option ("name=s", booleans and interactive ones "name:s", list
// formats and arrays "name=s@"); positional parameters are assigned afterwards.
import { badRequest, printErr } from "./io.mjs";
import { parseBoolean } from "./schema.mjs";

/**
 * @param {Record<string, import("./schema.mjs").Prop>} props  method parameters (fixed ones removed)
 * @param {string[]} argv
 * @param {string[]} argParam  positional parameter names ('extra-args' last)
 * @returns {Record<string, any>}
 */
export function getOptions(props, argv, argParam) {
  /** @type {Map<string, {name: string, optional: boolean, array: boolean}>} lower-cased name -> spec (ignore_case) */
  const defs = new Map();
  for (const [name, pd] of Object.entries(props)) {
    const isList = typeof pd.format === "string" && /-list/.test(pd.format);
    defs.set(name.toLowerCase(), { name, optional: pd.type === "boolean", array: isList || pd.type === "array" });
  }
  const names = [...defs.keys()].sort();

  const args = [...argv];
  /** @type {string[]} */
  const rest = [];
  /** @type {Record<string, any>} */
  const opts = {};
  let errors = 0;

  while (args.length) {
    const a = /** @type {string} */ (args.shift());
    if (a === "--") {
      rest.push(...args);
      break;
    }
    const m = /^(--|-)(.+)$/s.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    let name = /** @type {string} */ (m[2]);
    /** @type {string|undefined} */
    let optarg;
    const eq = name.indexOf("=", 1);
    if (eq > 0) {
      optarg = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    name = name.toLowerCase();
    let key = defs.has(name) ? name : undefined;
    if (!key && name !== "") {
      const hits = names.filter((n) => n.startsWith(name));
      if (hits.length > 1) {
        printErr(`Option ${name} is ambiguous (${hits.join(", ")})\n`);
        errors++;
        continue;
      }
      key = hits[0];
    }
    const def = key ? defs.get(key) : undefined;
    if (!key || !def) {
      printErr(`Unknown option: ${name}\n`);
      errors++;
      continue;
    }
    /** @type {string} */
    let value;
    if (optarg !== undefined) {
      if (optarg === "" && !def.optional) {
        printErr(`Option ${def.name} requires an argument\n`);
        errors++;
        continue;
      }
      value = optarg;
    } else if (!args.length) {
      if (!def.optional) {
        printErr(`Option ${def.name} requires an argument\n`);
        errors++;
        continue;
      }
      value = "";
    } else if (def.optional) {
      // an optional value takes the next word unless it looks like an option or is "--"
      const next = /** @type {string} */ (args[0]);
      value = next === "--" || /^(--|-).+/s.test(next) ? "" : /** @type {string} */ (args.shift());
    } else {
      value = /** @type {string} */ (args.shift()); // a mandatory string takes anything
    }
    if (def.array) (opts[def.name] ??= []).push(value);
    else opts[def.name] = value;
  }
  if (errors) throw badRequest("unable to parse option\n");

  if (rest.length) {
    for (let i = 0; i < argParam.length; i++) {
      const argName = /** @type {string} */ (argParam[i]);
      if (argName === "extra-args") {
        opts["extra-args"] = rest.splice(0);
        continue;
      }
      if (!rest.length) {
        for (; i < argParam.length; i++) {
          const p = props[/** @type {string} */ (argParam[i])];
          if (p && !p.optional) throw badRequest("not enough arguments\n");
        }
        if (argParam[argParam.length - 1] === "extra-args") opts["extra-args"] = [];
        break;
      }
      opts[argName] = rest.shift();
    }
    if (rest.length) throw badRequest("too many arguments\n");
  } else {
    for (const argName of argParam) {
      if (argName === "extra-args") opts["extra-args"] = [];
      else if (props[argName] && !props[argName].optional) throw badRequest("not enough arguments\n");
    }
  }

  for (const [p, value] of Object.entries(opts)) {
    const pd = props[p];
    if (!pd) continue;
    if (pd.type === "boolean") {
      if (value === "") opts[p] = 1;
      else {
        const b = parseBoolean(value);
        if (b === undefined) throw badRequest("unable to parse boolean option\n");
        opts[p] = b;
      }
    } else if (typeof pd.format === "string" && /-list/.test(pd.format)) {
      if (Array.isArray(value)) opts[p] = value.join(",");
    }
  }
  return opts;
}
