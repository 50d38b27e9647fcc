#!/usr/bin/env node
// @ts-check
// `qm` stand-in: Proxmox VE's VM CLI reproduced on a real QEMU per running VM (lib/kvm.mjs), its
// guest agent and the NoCloud drive it builds. See ../README.md for what is (not) reproduced.
import { existsSync } from "node:fs";
import { die, print, printErr, warn } from "./io.mjs";
import { forkWorker, runCliHandler } from "./cli.mjs";
import { NODE, vmlist } from "./env.mjs";
import { encodeText, macPrefix, randomEtherAddr } from "./pveconf.mjs";
import {
  assertConfigExists,
  checkVmLock,
  confdesc,
  isCdrom,
  isCloudinit,
  isDriveKey,
  loadVmConfig,
  lockVmConfig,
  newUuid,
  parseDrive,
  parseNet,
  printDrive,
  printNet,
  qmConfPath,
  readVmConfig,
  removeVmConfig,
  vmidUser,
  writeVmConfigFile,
} from "./qmconf.mjs";
import { QEMU_VERSION, allocCloudinit, allocDisk, checkDriveParams, checkRunning, copyImage, createDisks, doVmStop, freeVolume, isPaused, monCmd, ownedVolumes, runningPid, vmstatus } from "./qemu.mjs";
import { startKvm } from "./kvm.mjs";
import { cloudinitFiles, writeCloudinitDrive } from "./cloudinit.mjs";
import { guestCmddef } from "./agent.mjs";
import { readStorageCfg, storageCheckEnabled, volumePath } from "./storage.mjs";

/** @typedef {import("./schema.mjs").Prop} Prop */

const node = { type: "string" };
const vmid = { type: "integer", format: "pve-vmid" };
const bool = { type: "boolean", optional: true };
const timeout = { type: "integer", optional: true, minimum: 0 };

/** the tag list as PVE stores it: split, lower-cased, unique, sorted, joined with ';' */
function uniqueTags(tags) {
  return [...new Set(String(tags).split(/[,; ]+/).filter(Boolean).map((t) => t.toLowerCase()))].sort().join(";");
}

/** options as they go into the config: MACs added, tags normalised */
function normalise(param) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const [k, v] of Object.entries(param)) {
    if (/^net\d+$/.test(k)) out[k] = printNet(parseNet(String(v)));
    else if (k === "tags") out[k] = uniqueTags(v);
    else out[k] = v;
  }
  return out;
}

const CONF_KEYS = (param) => Object.fromEntries(Object.entries(param).filter(([k]) => confdesc[k] !== undefined && k !== "lock"));

function defaultBoot(conf) {
  const order = [];
  const drives = Object.keys(conf).filter(isDriveKey).sort();
  const disk = drives.find((k) => !isCdrom(parseDrive(String(conf[k]))));
  if (disk) order.push(disk);
  for (const k of drives) if (k !== disk && isCdrom(parseDrive(String(conf[k]))) && !isCloudinit(parseDrive(String(conf[k])))) order.push(k);
  if (conf.net0) order.push("net0");
  return order.length ? `order=${order.join(";")}` : undefined;
}

/** a failed create or clone: its new volumes, then its config (best effort, as PVE) */
function rollback(cfg, id, made) {
  for (const v of made) {
    try {
      freeVolume(cfg, v);
    } catch {
      /* left for the admin, as PVE does */
    }
  }
  try {
    removeVmConfig(id);
  } catch {
    /* already gone */
  }
}

/** POST /nodes/{node}/qemu (create_vm) */
async function createVm(param) {
  const id = Number(param.vmid);
  const cfg = readStorageCfg();
  if (param.storage) storageCheckEnabled(cfg, param.storage);
  checkDriveParams(cfg, param);
  const emsg = `unable to create VM ${id} -`;
  await lockVmConfig(
    id,
    async () => {
      const user = vmidUser(id);
      if (user) throw die(`${emsg} ${user.type === "qemu" ? "VM" : "CT"} ${id} already exists on node '${user.node}'`);
      writeVmConfigFile(id, { lock: "create" });
    },
    5,
  );
  const start = param.start;
  return forkWorker(async () => {
    /** @type {string[]} */
    const made = [];
    try {
      await lockVmConfig(id, async () => {
        const disks = createDisks(cfg, id, param, made);
        const conf = { ...normalise(CONF_KEYS(param)), ...disks };
        conf.meta = `creation-qemu=${QEMU_VERSION},ctime=${Math.trunc(Date.now() / 1000)}`;
        conf.smbios1 = `uuid=${newUuid()}`;
        conf.vmgenid = newUuid();
        conf.boot ??= defaultBoot(conf);
        writeVmConfigFile(id, conf);
      });
    } catch (e) {
      rollback(cfg, id, made);
      throw die(`${emsg} ${/** @type {Error} */ (e).message.replace(/\n$/, "")}`);
    }
    if (start) {
      print("Execute autostart\n");
      const r = await vmStart({ vmid: id });
      void r;
    }
  });
}

/** POST /nodes/{node}/qemu/{vmid}/clone */
async function cloneVm(param) {
  const id = Number(param.vmid);
  const newid = Number(param.newid);
  const cfg = readStorageCfg();
  if (param.storage) {
    const s = storageCheckEnabled(cfg, param.storage);
    if (!s.content.has("images")) throw Object.assign(die("Parameter verification failed.\n"), { code: 400, errors: new Map([["storage", `storage '${param.storage}' does not support vm images`]]) });
  }
  /** @type {Record<string, any>} */
  let old = {};
  let full = 1;
  await lockVmConfig(id, async () => {
    old = loadVmConfig(id);
    checkVmLock(old);
    full = param.full ?? (old.template ? 0 : 1);
    if (param.storage !== undefined && !full) throw die("parameter 'storage' not allowed for linked clones");
    if (existsSync(qmConfPath(newid))) throw die(`unable to create VM ${newid}: config file already exists`);
    const user = vmidUser(newid);
    if (user) throw die(`unable to create VM ${newid}: VM ${newid} already exists on node '${user.node}'`);
    for (const [k, v] of Object.entries(old)) {
      if (!isDriveKey(k)) continue;
      const d = parseDrive(String(v));
      if (isCdrom(d) && !isCloudinit(d)) continue;
      if (!full && !isCloudinit(d) && !/(^|[:/])base-\d+-disk-\d+/.test(d.file ?? "")) throw die(`Linked clone feature is not supported for '${d.file}' (${k})`);
    }
    writeVmConfigFile(newid, { lock: "clone" });
  });
  return forkWorker(async () => {
    /** @type {string[]} */
    const made = [];
    try {
      print(`creating a clone of VM ${id} with ID ${newid}\n`);
      /** @type {Record<string, any>} */
      const conf = { lock: "clone" };
      for (const [k, v] of Object.entries(old)) {
        if (/^unused\d+$/.test(k) || ["sections", "template", "lock"].includes(k)) continue;
        if (/^net\d+$/.test(k)) {
          // always a new MAC address
          conf[k] = printNet({ ...parseNet(String(v)), macaddr: randomEtherAddr(macPrefix()) });
          continue;
        }
        if (!isDriveKey(k)) {
          conf[k] = v;
          continue;
        }
        const d = parseDrive(String(v));
        if (isCdrom(d) && !isCloudinit(d)) {
          conf[k] = v;
          continue;
        }
        const sid = param.storage ?? /** @type {string} */ (String(d.file).split(":")[0]);
        if (isCloudinit(d)) {
          const vol = allocCloudinit(cfg, sid, newid);
          made.push(vol);
          conf[k] = printDrive({ ...d, file: vol });
        } else {
          print(`create full clone of drive ${k} (${d.file})\n`);
          const vol = allocDisk(cfg, sid, newid, 0, String(d.file).endsWith(".qcow2") ? "qcow2" : "raw");
          made.push(vol);
          copyImage(volumePath(cfg, /** @type {string} */ (d.file)), volumePath(cfg, vol));
          conf[k] = printDrive({ ...d, file: vol });
        }
        writeVmConfigFile(newid, conf);
      }
      conf.smbios1 = `uuid=${newUuid()}`;
      if (conf.vmgenid) conf.vmgenid = newUuid();
      conf.name = param.name ?? `Copy-of-VM-${old.name ?? id}`;
      if (param.description) conf.description = param.description;
      delete conf.lock;
      writeVmConfigFile(newid, conf);
    } catch (e) {
      rollback(cfg, newid, made);
      throw die(`clone failed: ${/** @type {Error} */ (e).message.replace(/\n$/, "")}`);
    }
  });
}

/** PUT /nodes/{node}/qemu/{vmid}/config (update_vm, synchronous) */
async function updateVm(param) {
  const id = Number(param.vmid);
  const { vmid: _v, node: _n, delete: del, digest: _d, skiplock, ...opts } = param;
  if (!Object.keys(opts).length && !del) throw die("no options specified");
  const cfg = readStorageCfg();
  checkDriveParams(cfg, opts);
  await lockVmConfig(id, async () => {
    const conf = loadVmConfig(id);
    if (!skiplock && opts.lock === undefined) checkVmLock(conf);
    const made = [];
    Object.assign(conf, normalise(opts), createDisks(cfg, id, opts, made));
    for (const k of String(del ?? "").split(/[,; ]+/).filter(Boolean)) {
      if (conf[k] === undefined) warn(`cannot delete '${k}' - not set in current configuration!`);
      delete conf[k];
    }
    writeVmConfigFile(id, conf);
  });
  return null;
}

/** vm_start (task qmstart) */
async function vmStart(param) {
  const id = Number(param.vmid);
  return forkWorker(async () => {
    await lockVmConfig(id, async () => {
      const conf = loadVmConfig(id);
      if (conf.template) throw die("you can't start a vm if it's a template");
      if (!param.skiplock) checkVmLock(conf);
      if (runningPid(id)) throw die(`VM ${id} already running`);
      const cfg = readStorageCfg();
      writeCloudinitDrive(cfg, conf, id);
      await startKvm(cfg, id, conf);
    });
  });
}

async function vmStop(param) {
  const id = Number(param.vmid);
  return forkWorker(async () => {
    await lockVmConfig(id, async () => {
      assertConfigExists(id);
      const conf = loadVmConfig(id);
      if (!param.skiplock) checkVmLock(conf);
      await doVmStop(id, conf, param.timeout, false, true);
    });
  });
}

async function vmShutdown(param) {
  const id = Number(param.vmid);
  let shutdown = true;
  if (checkRunning(id) === undefined) printErr(`VM ${id} not running\n`);
  else if (await isPaused(id)) {
    if (!param.forceStop) throw die("VM is paused - cannot shutdown");
    warn("VM is paused - stop instead of shutdown");
    shutdown = false;
  }
  return forkWorker(async () => {
    await lockVmConfig(id, async () => {
      const conf = loadVmConfig(id);
      if (!param.skiplock) checkVmLock(conf);
      let t = param.timeout;
      if (t === undefined && conf.startup) t = Number(/down=(\d+)/.exec(String(conf.startup))?.[1] ?? 60);
      await doVmStop(id, conf, t === undefined ? undefined : Number(t), shutdown, !!param.forceStop);
    });
  });
}

async function vmSuspend(param) {
  const id = Number(param.vmid);
  const pid = checkRunning(id);
  if (!pid) throw die(`VM ${id} not running`);
  return forkWorker(async () => {
    await lockVmConfig(id, async () => {
      checkVmLock(loadVmConfig(id));
      await monCmd(id, "stop");
    });
  });
}

async function vmResume(param) {
  const id = Number(param.vmid);
  const pid = checkRunning(id);
  if (!pid) throw die(`VM ${id} not running`);
  return forkWorker(async () => {
    await monCmd(id, "cont");
  });
}

/** DELETE /nodes/{node}/qemu/{vmid} (destroy_vm) */
async function destroyVm(param) {
  const id = Number(param.vmid);
  const conf = loadVmConfig(id);
  if (conf.protection) throw die(`can't remove VM ${id} - protection mode enabled`);
  if (!param.skiplock) checkVmLock(conf);
  if (runningPid(id)) throw die(`VM ${id} is running - destroy failed`);
  return forkWorker(async () => {
    await lockVmConfig(id, async () => {
      const cur = loadVmConfig(id);
      if (!param.skiplock) checkVmLock(cur);
      if (runningPid(id)) throw die(`VM ${id} is running - destroy failed`);
      writeVmConfigFile(id, { ...cur, lock: "destroyed" });
      const cfg = readStorageCfg();
      for (const v of ownedVolumes(cur, id)) {
        try {
          freeVolume(cfg, v);
        } catch (e) {
          warn(`could not remove disk '${v}', check manually: ${/** @type {Error} */ (e).message}`);
        }
      }
      if (param.purge) print(`purging VM ${id} from related configurations..\n`);
      removeVmConfig(id);
    });
  });
}

/** qm.pm print_recursive_hash: `key: value`, sorted; a nested hash as `key:` and its keys TAB-indented */
function printRecursiveHash(h, indent = "") {
  let s = "";
  for (const k of Object.keys(h).sort()) {
    const v = h[k];
    if (v !== null && typeof v === "object") s += `${indent}${k}:\n${printRecursiveHash(v, `${indent}\t`)}`;
    else s += `${indent}${k}: ${v}\n`;
  }
  return s;
}

/** @type {Record<string, import("./cli.mjs").CmdDef>} */
const cmddef = {
  create: {
    cls: "PVE::API2::Qemu",
    method: "create_vm",
    properties: { node, vmid, storage: { type: "string", optional: true, format: "pve-storage-id" }, start: bool, pool: { type: "string", optional: true }, ...confdesc },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: createVm,
    upidExit: true,
  },
  clone: {
    cls: "PVE::API2::Qemu",
    method: "clone_vm",
    properties: {
      node,
      vmid,
      newid: { type: "integer", format: "pve-vmid" },
      name: { type: "string", optional: true, format: "dns-name" },
      description: { type: "string", optional: true },
      full: bool,
      storage: { type: "string", optional: true, format: "pve-storage-id" },
      format: { type: "string", optional: true, enum: ["raw", "qcow2", "vmdk"] },
      pool: { type: "string", optional: true },
      snapname: { type: "string", optional: true },
      target: { type: "string", optional: true },
    },
    argParam: ["vmid", "newid"],
    fixed: { node: NODE },
    code: cloneVm,
    upidExit: true,
  },
  set: {
    cls: "PVE::API2::Qemu",
    method: "update_vm",
    properties: { node, vmid, ...confdesc, delete: { type: "string", optional: true }, digest: { type: "string", optional: true, maxLength: 40 }, skiplock: bool },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: updateVm,
  },
  config: {
    cls: "PVE::API2::Qemu",
    method: "vm_config",
    properties: { node, vmid, current: bool },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: async (param) => loadVmConfig(Number(param.vmid)),
    outsub: (conf) => {
      let s = "";
      for (const k of Object.keys(conf).sort()) {
        if (k === "digest" || k === "sections") continue;
        s += `${k}: ${k === "description" ? encodeText(conf[k]) : conf[k]}\n`;
      }
      print(s);
    },
  },
  start: { cls: "PVE::API2::Qemu", method: "vm_start", properties: { node, vmid, skiplock: bool, timeout }, argParam: ["vmid"], fixed: { node: NODE }, code: vmStart, upidExit: true },
  stop: {
    cls: "PVE::API2::Qemu",
    method: "vm_stop",
    properties: { node, vmid, skiplock: bool, timeout, keepActive: bool, "overrule-shutdown": bool },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: vmStop,
    upidExit: true,
  },
  shutdown: {
    cls: "PVE::API2::Qemu",
    method: "vm_shutdown",
    properties: { node, vmid, skiplock: bool, timeout, forceStop: bool, keepActive: bool },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: vmShutdown,
    upidExit: true,
  },
  suspend: { cls: "PVE::API2::Qemu", method: "vm_suspend", properties: { node, vmid, skiplock: bool, todisk: bool }, argParam: ["vmid"], fixed: { node: NODE }, code: vmSuspend, upidExit: true },
  resume: { cls: "PVE::API2::Qemu", method: "vm_resume", properties: { node, vmid, skiplock: bool }, argParam: ["vmid"], fixed: { node: NODE }, code: vmResume, upidExit: true },
  destroy: {
    cls: "PVE::API2::Qemu",
    method: "destroy_vm",
    properties: { node, vmid, skiplock: bool, purge: bool, "destroy-unreferenced-disks": bool },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: destroyVm,
    upidExit: true,
  },
  status: {
    cls: "PVE::CLI::qm",
    method: "status",
    properties: { vmid, verbose: bool },
    argParam: ["vmid"],
    code: async (param) => {
      const id = Number(param.vmid);
      const conf = loadVmConfig(id);
      const stat = await vmstatus(readStorageCfg(), id, conf);
      if (param.verbose) print(printRecursiveHash(stat)); else print(`status: ${stat.qmpstatus ?? stat.status}\n`);
      return null;
    },
  },
  list: {
    cls: "PVE::CLI::qm",
    method: "vmlist",
    properties: { full: bool },
    argParam: [],
    code: async (param) => {
      const ids = [...vmlist().entries()].filter(([, d]) => d.node === NODE && d.type === "qemu").map(([id]) => id).sort((a, b) => a - b);
      if (!ids.length) return null;
      const cfg = readStorageCfg();
      const row = (a, b, c, d, e, f) => `${String(a).padStart(10)} ${String(b).padEnd(20)} ${String(c).padEnd(10)} ${String(d).padEnd(10)} ${String(e).padStart(12)} ${String(f).padEnd(10)}\n`;
      let s = row("VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID");
      for (const id of ids) {
        const conf = readVmConfig(id);
        if (!conf) continue;
        const d = await vmstatus(cfg, id, conf);
        s += row(id, d.name, param.full ? (d.qmpstatus ?? d.status) : d.status, Number(d.maxmem) / 1024 / 1024, (Number(d.maxdisk) / 1024 ** 3).toFixed(2), d.pid ?? 0);
      }
      print(s);
      return null;
    },
  },
  unlock: {
    cls: "PVE::CLI::qm",
    method: "unlock",
    properties: { vmid },
    argParam: ["vmid"],
    code: async (param) => {
      const id = Number(param.vmid);
      await lockVmConfig(id, async () => {
        const conf = loadVmConfig(id);
        delete conf.lock;
        writeVmConfigFile(id, conf);
      });
      return null;
    },
  },
  template: {
    cls: "PVE::API2::Qemu",
    method: "template",
    properties: { node, vmid },
    argParam: ["vmid"],
    fixed: { node: NODE },
    code: async (param) => {
      const id = Number(param.vmid);
      await lockVmConfig(id, async () => {
        const conf = loadVmConfig(id);
        checkVmLock(conf);
        if (runningPid(id)) throw die("you can't convert a running VM to a template");
        conf.template = 1;
        writeVmConfigFile(id, conf);
      });
      return null;
    },
  },
};

/** `qm cloudinit dump <vmid> <type>` (and the other nested command groups) */
/** @type {Record<string, import("./cli.mjs").CmdDef>} */
const cloudinitCmddef = {
  dump: {
    cls: "PVE::API2::Qemu",
    method: "cloudinit_generated_config_dump",
    properties: { node, vmid, type: { type: "string", enum: ["user", "network", "meta"] } },
    argParam: ["vmid", "type"],
    fixed: { node: NODE },
    code: async (param) => cloudinitFiles(readStorageCfg(), loadVmConfig(Number(param.vmid)), Number(param.vmid))[/** @type {"user"|"network"|"meta"} */ (param.type)],
    outsub: (text) => print(text),
  },
};

readStorageCfg(); // a fresh $PVE_SIM_ROOT gets the default storage.cfg and its directories
const argv = process.argv.slice(2);
const nested = { guest: guestCmddef, cloudinit: cloudinitCmddef }[argv[0] ?? ""];
process.exitCode = nested ? await runCliHandler(`qm ${argv[0]}`, nested, argv.slice(1)) : await runCliHandler("qm", cmddef, argv);
