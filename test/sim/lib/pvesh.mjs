#!/usr/bin/env node
// @ts-check
// `pvesh` stand-in: the few API GET endpoints a container driver needs.
import { cpus, totalmem, freemem, uptime } from "node:os";
import { die, paramError, print } from "./io.mjs";
import { runCliHandler } from "./cli.mjs";
import { ETC_PVE, NODE, localCts, vmlist } from "./env.mjs";
import { loadConfig, loadCurrentConfig } from "./pveconf.mjs";
import { vmstatus } from "./lxc.mjs";
import { readStorageCfg } from "./storage.mjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** @typedef {import("./schema.mjs").Prop} Prop */
/** @typedef {{params: Record<string, Prop>, code: (p: Record<string, any>) => any, columns?: string[]}} Endpoint */

const vmidOpt = { type: "integer", format: "pve-vmid", optional: true };

/** @type {[RegExp, string[], Endpoint][]} */
const routes = [
  [
    /^cluster\/nextid$/,
    [],
    {
      params: { vmid: vmidOpt },
      code: (p) => {
        const ids = vmlist();
        if (p.vmid !== undefined) {
          if (!ids.has(Number(p.vmid))) return String(p.vmid);
          throw paramError({ vmid: `VM ${p.vmid} already exists` });
        }
        let lower = 100;
        let upper = 1000 * 1000;
        try {
          const m = /^next-id:\s*(.*)$/m.exec(readFileSync(join(ETC_PVE, "datacenter.cfg"), "utf8"));
          if (m) {
            lower = Number(/lower=(\d+)/.exec(m[1] ?? "")?.[1] ?? lower);
            upper = Number(/upper=(\d+)/.exec(m[1] ?? "")?.[1] ?? upper);
          }
        } catch {
          /* defaults */
        }
        for (let i = lower; i < upper; i++) if (!ids.has(i)) return String(i);
        throw die(`unable to get any free VMID in range [${lower}, ${upper}]`);
      },
    },
  ],
  [
    /^nodes$/,
    [],
    {
      params: {},
      columns: ["node", "status", "cpu", "level", "maxcpu", "maxmem", "mem", "ssl_fingerprint", "uptime"],
      code: () => [
        {
          node: NODE,
          status: "online",
          cpu: 0,
          level: "",
          maxcpu: cpus().length,
          maxmem: totalmem(),
          mem: totalmem() - freemem(),
          uptime: Math.trunc(uptime()),
          id: `node/${NODE}`,
          type: "node",
        },
      ],
    },
  ],
  [
    /^nodes\/([^/]+)\/lxc$/,
    ["node"],
    {
      params: {},
      columns: ["status", "vmid", "cpus", "lock", "maxdisk", "maxmem", "name", "tags", "uptime"],
      code: (p) => {
        checkNode(p.node);
        return Object.values(vmstatus(localCts()));
      },
    },
  ],
  [
    /^nodes\/([^/]+)\/lxc\/([^/]+)\/status\/current$/,
    ["node", "vmid"],
    {
      params: {},
      code: (p) => {
        checkNode(p.node);
        const id = Number(p.vmid);
        loadConfig(id);
        return { ...vmstatus([id])[id], ha: { managed: 0 } };
      },
    },
  ],
  [
    /^nodes\/([^/]+)\/lxc\/([^/]+)\/config$/,
    ["node", "vmid"],
    {
      params: { current: { type: "boolean", optional: true } },
      code: (p) => {
        checkNode(p.node);
        const conf = loadCurrentConfig(Number(p.vmid), !!p.current);
        if (conf.lxc) conf.lxc = conf.lxc.map(([k, v]) => [k, v]);
        return conf;
      },
    },
  ],
];

function checkNode(node) {
  if (node !== NODE && node !== "localhost")
    throw die(`hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`);
}

/** @returns {{ep: Endpoint, uri: Record<string,string>} | undefined} */
function findHandler(path) {
  const norm = path.split("/").filter(Boolean).join("/");
  for (const [re, names, ep] of routes) {
    const m = re.exec(norm);
    if (!m) continue;
    /** @type {Record<string,string>} */
    const uri = {};
    names.forEach((n, i) => (uri[n] = /** @type {string} */ (m[i + 1])));
    return { ep, uri };
  }
  return undefined;
}

// --- output (PVE::CLIFormatter, reduced) ----------------------------------------------------

function renderBytes(v) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = Number(v);
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i ? `${n.toFixed(2)} ${units[i]}` : `${n} B`;
}

function renderValue(k, v) {
  if (v === undefined || v === null) return "";
  if (typeof v === "object") return JSON.stringify(v);
  if (/^(maxmem|mem|maxdisk|disk|maxswap|swap)$/.test(k)) return renderBytes(v);
  if (k === "cpu") return `${(Number(v) * 100).toFixed(2)}%`;
  return String(v);
}

/** print_text_table with UTF-8 borders */
function printTable(rows, columns, opts) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => renderValue(c, r[c]).length)));
  const line = (l, m, r, f) => `${l}${f}${widths.map((w) => f.repeat(w)).join(`${f}${m}${f}`)}${f}${r}\n`;
  const fmt = (vals) => `│ ${vals.map((v, i) => v.padEnd(/** @type {number} */ (widths[i]))).join(" │ ")} │\n`;
  if (opts.noborder) {
    let s = opts.noheader ? "" : `${columns.map((c, i) => c.padEnd(/** @type {number} */ (widths[i]))).join(" ").trimEnd()}\n`;
    for (const r of rows) s += `${columns.map((c, i) => renderValue(c, r[c]).padEnd(/** @type {number} */ (widths[i]))).join(" ").trimEnd()}\n`;
    return print(s);
  }
  let s = line("┌", "┬", "┐", "─");
  if (!opts.noheader) s += fmt(columns) + line("╞", "╪", "╡", "═");
  rows.forEach((r, i) => {
    if (i) s += line("├", "┼", "┤", "─");
    s += fmt(columns.map((c) => renderValue(c, r[c])));
  });
  s += line("└", "┴", "┘", "─");
  print(s);
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

function printResult(data, ep, fmt) {
  if (fmt.quiet) return;
  const format = fmt["output-format"] ?? "text";
  if (format === "json") return print(`${JSON.stringify(sortKeys(data))}\n`);
  if (format === "json-pretty") return print(`${JSON.stringify(sortKeys(data), null, 3)}\n`);
  if (format === "yaml") throw die("yaml output is not supported by the simulator");
  if (data === null || data === undefined) return;
  if (Array.isArray(data)) {
    if (!data.length) return;
    const columns = ep.columns ?? Object.keys(data[0]).sort();
    return printTable(data, columns, fmt);
  }
  if (typeof data === "object") {
    const rows = Object.keys(data)
      .sort()
      .filter((k) => data[k] !== undefined)
      .map((k) => ({ key: k, value: renderValue(k, data[k]) }));
    return printTable(rows, ["key", "value"], fmt);
  }
  print(`${data}\n`);
}

// --- command table ---------------------------------------------------------------------------

const formatter = {
  "output-format": { type: "string", optional: true, enum: ["text", "json", "json-pretty", "yaml"] },
  noheader: { type: "boolean", optional: true },
  noborder: { type: "boolean", optional: true },
  quiet: { type: "boolean", optional: true },
  "human-readable": { type: "boolean", optional: true },
};

const argv = process.argv.slice(2);
const methodMap = { get: "GET", ls: "GET", set: "PUT", create: "POST", delete: "DELETE", usage: "GET" };
let target;
if (argv[0] && methodMap[/** @type {keyof typeof methodMap} */ (argv[0])] && argv[1]) {
  target = argv[0] === "get" || argv[0] === "usage" ? findHandler(argv[1]) : undefined;
  if (!target) {
    process.stderr.write(`No '${argv[0]}' handler defined for '${argv[1]}'\n`);
    process.exit(1);
  }
}

/** @type {Record<string, Prop>} */
const pathSchema = {
  api_path: { type: "string" },
  noproxy: { type: "boolean", optional: true },
  ...(target?.ep.params ?? {}),
};

/** @type {Record<string, import("./cli.mjs").CmdDef>} */
const cmddef = {};
for (const cmd of ["get", "set", "create", "delete", "ls", "usage"]) {
  cmddef[cmd] = {
    cls: "PVE::CLI::pvesh",
    method: cmd,
    properties: pathSchema,
    formatter: cmd === "usage" ? undefined : formatter,
    argParam: ["api_path"],
    code: async (param) => {
      if (!target || (cmd !== "get" && cmd !== "usage")) throw die(`no '${cmd}' handler for '${param.api_path}'`);
      const p = { ...param, ...target.uri };
      delete p.api_path;
      delete p.noproxy;
      return target.ep.code(p);
    },
    outsub: (res, fmt) => {
      if (cmd === "get" && target) printResult(res, target.ep, fmt);
    },
  };
}

readStorageCfg();
process.exitCode = await runCliHandler("pvesh", cmddef, argv);
