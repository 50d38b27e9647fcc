// @ts-check
// A port of the parts of pve-common's PVE::JSONSchema that pct/pvesh parameters go through:
// check_prop / check_type (message texts verbatim), the registered formats the CT schema uses,
// property strings (parse/print) and size helpers.
import { isIPv4, isIPv6 } from "node:net";
import { PveError } from "./io.mjs";

/**
 * @typedef {{
 *   type?: string, format?: string|Record<string, Prop>, pattern?: string, enum?: string[],
 *   minimum?: number, maximum?: number, maxLength?: number, minLength?: number,
 *   optional?: boolean, default_key?: boolean, requires?: string, items?: Prop, default?: unknown,
 * }} Prop
 */

export function isInteger(v) {
  return /^[+-]?\d+$/.test(v);
}

export function isNumber(v) {
  return /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(v);
}

/** JSONSchema::parse_boolean: 1/0 or undefined */
export function parseBoolean(v) {
  if (/^(1|on|yes|true)$/i.test(v)) return 1;
  if (/^(0|off|no|false)$/i.test(v)) return 0;
  return undefined;
}

/** PVE::Tools::split_list */
export function splitList(txt = "") {
  if (txt.includes("\0")) return txt.split("\0");
  return txt.replace(/[,;]/g, " ").replace(/^\s+/, "").split(/\s+/).filter((x) => x !== "");
}

/** JSONSchema::parse_size (bytes) */
export function parseSize(value) {
  const m = /^(\d+(\.\d+)?)([KMGT](?:iB)?)?$/.exec(value);
  if (!m) return undefined;
  let size = Number(m[1]);
  const unit = m[3]?.[0];
  const mult = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
  if (unit) size *= mult[/** @type {"K"|"M"|"G"|"T"} */ (unit)];
  return Math.trunc(size);
}

/** JSONSchema::format_size */
export function formatSize(size) {
  size = Math.trunc(size);
  const kb = Math.trunc(size / 1024);
  if (kb * 1024 !== size) return String(size);
  const mb = Math.trunc(kb / 1024);
  if (mb * 1024 !== kb) return `${kb}K`;
  const gb = Math.trunc(mb / 1024);
  if (gb * 1024 !== mb) return `${mb}M`;
  const tb = Math.trunc(gb / 1024);
  if (tb * 1024 !== gb) return `${gb}G`;
  return `${tb}T`;
}

const IPV4 = (v) => isIPv4(v);
const cidr = (v, isIp, maxBits) => {
  const m = /^(.+)\/(\d+)$/.exec(v);
  return !!m && isIp(m[1]) && Number(m[2]) > 7 && Number(m[2]) <= maxBits;
};

function fail(msg) {
  throw new Error(`${msg}\n`);
}

/** @type {Record<string, ((v: string) => unknown) | Record<string, Prop>>} */
export const formats = {
  string: () => {},
  "pve-vmid": (v) => /^[1-9][0-9]{2,8}$/.test(v) || fail("value does not look like a valid VM ID"),
  "dns-name": (v) => {
    const label = "([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)";
    if (!new RegExp(`^(${label}\\.)*${label}$`).test(v)) fail("value does not look like a valid DNS name");
  },
  "pve-storage-id": (v) => parseId(v, "storage"),
  "pve-poolid": (v) => {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_\-/]*$/.test(v)) fail(`invalid pool ID '${v}'`);
  },
  "pve-configid": (v) => /^[a-z][a-z0-9_-]+$/i.test(v) || fail(`invalid configuration ID '${v}'`),
  "pve-tag": (v) => /^[a-z0-9_][a-z0-9_\-+.]*$/i.test(v) || fail("invalid characters in tag"),
  "mac-addr": (v) =>
    /^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i.test(v) || fail("value does not look like a valid unicast MAC address"),
  ipv4: (v) => IPV4(v) || fail("value does not look like a valid IPv4 address"),
  ipv6: (v) => isIPv6(v) || fail("value does not look like a valid IPv6 address"),
  "pve-ipv4-config": (v) =>
    /^(?:dhcp|manual)$/.test(v) || cidr(v, IPV4, 32) || fail("value does not look like a valid ipv4 network configuration"),
  "pve-ipv6-config": (v) =>
    /^(?:auto|dhcp|manual)$/.test(v) ||
    cidr(v, isIPv6, 128) ||
    fail("value does not look like a valid ipv6 network configuration"),
  "lxc-ip-with-ll-iface": (v) =>
    IPV4(v) || isIPv6(v.replace(/%[^%]+$/, "")) || fail("value does not look like a valid IP address"),
  "disk-size": (v) => parseSize(v) !== undefined || fail(`value does not look like a valid disk size: ${v}`),
  "pve-lxc-mp-string": (v) => {
    if (/\/\.\.?\//.test(v) || /\/\.\.?$/.test(v) || /^\.\.\//.test(v)) fail(`${v} contains illegal character sequences`);
  },
  "pve-startup-order": (v) => {
    const ok = v.split(",").every((p) => /^(order=)?\d+$|^(up|down)=\d+$/.test(p));
    if (!ok) fail("unable to parse startup options");
  },
  "pve-volume-id": (v) => {
    if (!/^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.test(v)) fail(`unable to parse volume ID '${v}'`);
  },
  "pve-ct-timezone": (v) => {
    if (v !== "host" && !/^[A-Za-z0-9_+\-/]+$/.test(v)) fail(`invalid time zone '${v}'`);
  },
};

function parseId(id, type) {
  if (id.length < 2) fail(`${type} ID '${id}' cannot be shorter than 2 characters`);
  if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(id)) fail(`${type} ID '${id}' contains illegal characters`);
}

function addError(errors, path, msg) {
  path = path || "_root";
  // (sic) PVE joins with a literal backslash-n
  errors.set(path, errors.has(path) ? `${errors.get(path)}\\n${msg}` : msg);
}

/** JSONSchema::check_format: throws an Error / PveError on failure. */
export function checkFormat(format, value, path) {
  if (typeof format === "object") return parsePropertyString(format, value, path);
  const m = /^(.*?)(?:-(list|opt))?$/.exec(format);
  const name = m?.[1] ?? format;
  const kind = m?.[2];
  const fn = formats[name];
  if (!fn) throw new Error(`undefined format '${format}'\n`);
  if (typeof fn === "object") return parsePropertyString(fn, value, path);
  if (kind === "list") return splitList(value).map((v) => fn(v));
  if (kind === "opt") return value ? fn(value) : undefined;
  return fn(value);
}

/**
 * JSONSchema::check_prop for scalar values (the only kind CLI parameters have) and arrays.
 * @param {unknown} value
 * @param {Prop} schema
 * @param {string} path
 * @param {Map<string,string>} errors
 */
export function checkProp(value, schema, path, errors) {
  if (value === undefined || value === null) {
    if (!schema.optional) addError(errors, path, "property is missing and it is not optional");
    return;
  }
  const type = schema.type;
  if (type === "array") {
    if (!Array.isArray(value)) return addError(errors, path, `type check ('${type}') failed`);
    if (schema.items) value.forEach((el, i) => checkProp(el, /** @type {Prop} */ (schema.items), `${path}[${i}]`, errors));
    return;
  }
  if (Array.isArray(value)) return addError(errors, path, `type check ('${type}') failed - got ARRAY`);
  const v = String(value);
  if (type === "boolean" && v !== "1" && v !== "0") return addError(errors, path, `type check ('${type}') failed - got '${v}'`);
  if (type === "integer" && !isInteger(v)) return addError(errors, path, `type check ('${type}') failed - got '${v}'`);
  if (type === "number" && !isNumber(v)) return addError(errors, path, `type check ('${type}') failed - got '${v}'`);
  if (schema.format) {
    try {
      checkFormat(schema.format, v, path);
    } catch (e) {
      const text = e instanceof PveError ? e.toString() : /** @type {Error} */ (e).message;
      return addError(errors, path, `invalid format - ${text}`);
    }
  }
  if (schema.pattern && !new RegExp(`^(?:${schema.pattern})$`).test(v))
    return addError(errors, path, "value does not match the regex pattern");
  if (schema.maxLength !== undefined && [...v].length > schema.maxLength)
    return addError(errors, path, `value may only be ${schema.maxLength} characters long`);
  if (schema.minLength !== undefined && [...v].length < schema.minLength)
    return addError(errors, path, `value must be at least ${schema.minLength} characters long`);
  if (isNumber(v)) {
    if (schema.maximum !== undefined && Number(v) > schema.maximum)
      return addError(errors, path, `value must have a maximum value of ${schema.maximum}`);
    if (schema.minimum !== undefined && Number(v) < schema.minimum)
      return addError(errors, path, `value must have a minimum value of ${schema.minimum}`);
  }
  if (schema.enum && !schema.enum.includes(v))
    addError(errors, path, `value '${v}' does not have a value in the enumeration '${schema.enum.join(", ")}'`);
}

/**
 * JSONSchema::check_object with additionalProperties => 0.
 * @param {string} path
 * @param {Record<string, Prop>} schema
 * @param {Record<string, unknown>} value
 * @param {Map<string,string>} errors
 */
export function checkObject(path, schema, value, errors) {
  const sub = (k) => (path ? `${path}.${k}` : k);
  for (const [k, s] of Object.entries(schema)) checkProp(value[k], s, sub(k), errors);
  for (const k of Object.keys(value)) {
    const s = schema[k];
    if (s) {
      if (s.requires && value[s.requires] === undefined)
        addError(errors, path ? `${path}.${s.requires}` : s.requires, `missing property required by '${sub(k)}'`);
      continue;
    }
    addError(errors, sub(k), "property is not defined in schema and the schema does not allow additional properties");
  }
}

/** JSONSchema::validate -> 400 Parameter verification failed. */
export function validate(param, properties) {
  const errors = new Map();
  checkObject("", properties, param, errors);
  if (errors.size) throw new PveError("Parameter verification failed.\n", { code: 400, errors });
}

/**
 * JSONSchema::parse_property_string
 * @param {Record<string, Prop>} format
 * @param {string} data
 * @param {string} [path]
 * @returns {Record<string, string>}
 */
export function parsePropertyString(format, data, path) {
  /** @type {Record<string,string>} */
  const res = {};
  let defaultKey;
  for (const part of data.split(",")) {
    if (/^\s*$/.test(part)) continue;
    const kv = /^([^=]+)=(.+)$/s.exec(part);
    if (kv) {
      const [, k, v0] = /** @type {[string,string,string]} */ (/** @type {unknown} */ (kv));
      if (res[k] !== undefined) throw new Error(`duplicate key in comma-separated list property: ${k}\n`);
      const s = format[k];
      if (!s) throw new Error(`invalid key in comma-separated list property: ${k}\n`);
      const v = s.type === "boolean" ? String(parseBoolean(v0) ?? v0) : v0;
      res[k] = v;
    } else if (!part.includes("=")) {
      if (defaultKey) throw new Error(`duplicate key in comma-separated list property: ${defaultKey}\n`);
      for (const [key, s] of Object.entries(format)) {
        if (!s.default_key) continue;
        defaultKey = key;
        if (res[key]) throw new Error(`duplicate key in comma-separated list property: ${key}\n`);
        res[key] = part;
        break;
      }
      if (!defaultKey) throw new Error("value without key, but schema does not define a default key\n");
    } else {
      throw new Error("missing key in comma-separated list property\n");
    }
  }
  const errors = new Map();
  checkObject(path ?? "", format, res, errors);
  if (errors.size) throw new PveError("format error\n", { errors });
  return res;
}

/**
 * JSONSchema::print_property_string: default key first, then required keys, then the rest sorted.
 * @param {Record<string, string|number|undefined>} data
 * @param {Record<string, Prop>} format
 * @param {string[]} [skip]
 */
export function printPropertyString(data, format, skip = []) {
  const done = new Set(skip);
  const out = [];
  const add = (k, isDefault) => {
    if (done.has(k)) return;
    done.add(k);
    const v = data[k];
    if (v === undefined) return;
    const s = format[k];
    if (!s) throw new Error(`invalid key '${k}'\n`);
    const text = s.format === "disk-size" ? formatSize(Number(v)) : String(v);
    if (text.includes(",")) throw new Error(`illegal value with commas for ${k}\n`);
    out.push(isDefault ? text : `${k}=${text}`);
  };
  const defaultKey = Object.keys(format).find((k) => format[k]?.default_key);
  if (defaultKey) add(defaultKey, true);
  const keys = Object.keys(data).sort();
  for (const k of keys) if (format[k] && !format[k].optional) add(k, false);
  for (const k of keys) add(k, false);
  return out.join(",");
}
