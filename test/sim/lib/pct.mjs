#!/usr/bin/env node
// @ts-check
// `pct` stand-in: Proxmox VE's container CLI reproduced on top of Debian's LXC.
// See ../README.md for what is (not) reproduced.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { die, dieAt, paramError, print } from "./io.mjs";
import { runCliHandler } from "./cli.mjs";
import { LXC_PATH, NODE, localCts } from "./env.mjs";
import { confdesc, encodeText, loadConfig, loadCurrentConfig, removeLock } from "./pveconf.mjs";
import { checkRunning, childEnv, vmstatus } from "./lxc.mjs";
import { createVm, destroyVm, updateVm, vmShutdownApi, vmStartApi, vmStopApi } from "./ct.mjs";
import { readStorageCfg } from "./storage.mjs";

/** @typedef {import("./schema.mjs").Prop} Prop */

const node = { type: "string" };
const vmid = { type: "integer", format: "pve-vmid" };
const bool = { type: "boolean", optional: true };
const extraArgs = { type: "array", optional: true, items: { type: "string" } };

/** create_vm parameters: json_config_properties({...}) */
/** @type {Record<string, Prop>} */
const createProps = {
  node,
  vmid,
  ostemplate: { type: "string", maxLength: 255 },
  password: { type: "string", optional: true, minLength: 5 },
  storage: { type: "string", optional: true, format: "pve-storage-id" },
  force: bool,
  restore: bool,
  unique: { ...bool, requires: "restore" },
  pool: { type: "string", optional: true, format: "pve-poolid" },
  "ignore-unpack-errors": bool,
  "ssh-public-keys": { type: "string", optional: true },
  bwlimit: { type: "number", optional: true, minimum: 0 },
  start: bool,
  "ha-managed": bool,
  ...confdesc,
};

/** @type {Record<string, Prop>} */
const setProps = {
  node,
  vmid,
  ...confdesc,
  delete: { type: "string", optional: true, format: "pve-configid-list" },
  revert: { type: "string", optional: true, format: "pve-configid-list" },
  digest: { type: "string", optional: true, maxLength: 40 },
};

/** pct exec / enter: `exec lxc-attach -n <vmid> --keep-env|--clear-env [-- cmd...]` */
async function attach(param, withCommand) {
  const id = Number(param.vmid);
  const keepEnv = param["keep-env"] ?? 1;
  loadConfig(id); // test if container exists on this node
  if (!checkRunning(id)) throw die(`container '${id}' not running!`);
  const extra = /** @type {string[]} */ (param["extra-args"] ?? []);
  if (withCommand && !extra.length) throw dieAt("missing command", "/usr/share/perl5/PVE/CLI/pct.pm", 246);
  const argv = ["-P", LXC_PATH, "-n", String(id), keepEnv ? "--keep-env" : "--clear-env"];
  if (withCommand) argv.push("--", ...extra);
  // Perl exec()s lxc-attach; Node cannot, so forward signals and mirror the exit status
  const child = spawn("lxc-attach", argv, { stdio: "inherit", env: childEnv() });
  const forwarded = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT", "SIGALRM"];
  const handlers = forwarded.map((sig) => {
    const h = () => child.kill(/** @type {NodeJS.Signals} */ (sig));
    process.on(sig, h);
    return /** @type {[string, () => void]} */ ([sig, h]);
  });
  const [code, signal] = await new Promise((resolve) => {
    child.on("error", (e) => resolve([-1, e.message]));
    child.on("exit", (c, s) => resolve([c, s]));
  });
  for (const [sig, h] of handlers) process.off(sig, h);
  if (code === -1) throw die(`exec failed: ${signal}`);
  if (signal) {
    process.kill(process.pid, /** @type {NodeJS.Signals} */ (signal));
    return { exitCode: 128 + (constants.signals[/** @type {keyof typeof constants.signals} */ (signal)] ?? 0) };
  }
  return { exitCode: code ?? 0 };
}

/** @type {Record<string, import("./cli.mjs").CmdDef>} */
const cmddef = {
  create: { cls: "PVE::API2::LXC", method: "create_vm", properties: createProps, argParam: ["vmid", "ostemplate"], fixed: { node: NODE }, code: createVm, upidExit: true },
  destroy: {
    cls: "PVE::API2::LXC",
    method: "destroy_vm",
    properties: { node, vmid, force: bool, purge: bool, "destroy-unreferenced-disks": bool },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: destroyVm,
    upidExit: true,
  },
  list: {
    cls: "PVE::API2::LXC",
    method: "vmlist",
    properties: { node },
    argParam: [],
    fixed: { node: NODE },
    code: async () => Object.values(vmstatus(localCts())),
    outsub: (res) => {
      if (!res.length) return;
      const row = (a, b, c, d) => `${String(a).padEnd(10)} ${String(b).padEnd(10)} ${String(c).padEnd(12)} ${String(d).padEnd(20)}\n`;
      let s = row("VMID", "Status", "Lock", "Name");
      for (const d of [...res].sort((a, b) => a.vmid - b.vmid)) s += row(d.vmid, d.status, d.lock || "", d.name);
      print(s);
    },
  },
  config: {
    cls: "PVE::API2::LXC::Config",
    method: "vm_config",
    properties: { node, vmid, current: bool, snapshot: { type: "string", optional: true, format: "pve-configid", maxLength: 40 } },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: async (param) => {
      if (param.snapshot && param.current)
        throw paramError({ snapshot: "cannot use 'snapshot' parameter with 'current'", current: "cannot use 'snapshot' parameter with 'current'" });
      if (param.snapshot) {
        loadConfig(param.vmid);
        throw die(`snapshot '${param.snapshot}' does not exist`);
      }
      return loadCurrentConfig(Number(param.vmid), !!param.current);
    },
    outsub: (conf) => {
      let s = "";
      for (const k of Object.keys(conf).sort()) {
        if (k === "digest" || k === "lxc") continue;
        const v = k === "description" ? encodeText(conf[k]) : conf[k];
        s += `${k}: ${v}\n`;
      }
      for (const [k, v] of conf.lxc ?? []) s += `${k}: ${v}\n`;
      print(s);
    },
  },
  set: { cls: "PVE::API2::LXC::Config", method: "update_vm", properties: setProps, argParam: ["vmid"], fixed: { node: NODE }, code: updateVm },
  start: {
    cls: "PVE::API2::LXC::Status",
    method: "vm_start",
    properties: { node, vmid, skiplock: bool, debug: bool },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: vmStartApi,
    upidExit: true,
  },
  stop: {
    cls: "PVE::API2::LXC::Status",
    method: "vm_stop",
    properties: { node, vmid, skiplock: bool, "overrule-shutdown": bool },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: vmStopApi,
    upidExit: true,
  },
  shutdown: {
    cls: "PVE::API2::LXC::Status",
    method: "vm_shutdown",
    properties: { node, vmid, timeout: { type: "integer", optional: true, minimum: 0 }, forceStop: bool },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: vmShutdownApi,
    upidExit: true,
  },
  status: {
    cls: "PVE::CLI::pct",
    method: "status",
    properties: { vmid, verbose: bool },
    argParam: ["vmid"],
    code: async (param) => {
      const id = Number(param.vmid);
      loadConfig(id); // test if CT exists
      const stat = /** @type {Record<string, any>} */ (vmstatus([id])[id]);
      if (param.verbose) {
        let s = "";
        for (const k of Object.keys(stat).sort()) if (k !== "cpu" && stat[k] !== undefined) s += `${k}: ${stat[k]}\n`;
        print(s);
      } else print(`status: ${stat.status || "unknown"}\n`);
      return null;
    },
  },
  exec: {
    cls: "PVE::CLI::pct",
    method: "exec",
    properties: { vmid, "keep-env": bool, "extra-args": extraArgs },
    argParam: ["vmid", "extra-args"],
    code: (param) => attach(param, true),
  },
  enter: {
    cls: "PVE::CLI::pct",
    method: "enter",
    properties: { vmid, "keep-env": bool },
    argParam: ["vmid"],
    code: (param) => attach(param, false),
  },
  unlock: {
    cls: "PVE::CLI::pct",
    method: "unlock",
    properties: { vmid },
    argParam: ["vmid"],
    code: async (param) => {
      await removeLock(Number(param.vmid));
      return null;
    },
  },
};

readStorageCfg(); // a fresh $PVE_SIM_ROOT gets the default storage.cfg and its directories
process.exitCode = await runCliHandler("pct", cmddef, process.argv.slice(2));
