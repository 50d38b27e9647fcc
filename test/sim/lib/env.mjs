// @ts-check
// Locations under $PVE_SIM_ROOT (the simulated host's "/"), node name, cluster VM list and small
// fs helpers.
//
//   etc/pve/nodes/<node>/lxc/<vmid>.conf   CT configs of <node>; etc/pve/lxc -> nodes/<node>/lxc
//   etc/pve/nodes/<node>/qemu-server/      VM configs (only read: VMIDs are cluster-wide unique)
//   etc/pve/storage.cfg, etc/pve/datacenter.cfg
//   var/lib/lxc/<vmid>/config              LXC config generated at start (lxc-* -P var/lib/lxc)
//   run/lock/lxc/pve-config-<vmid>.lock    config lock (flock)
//   run/pve/ct-<vmid>.stderr               lxc-start log of the last start
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, symlinkSync, writeSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";

export function simRoot() {
  const root = process.env["PVE_SIM_ROOT"];
  if (!root) {
    process.stderr.write("PVE_SIM_ROOT is not set - it must name the directory holding the simulated host's state\n");
    process.exit(255);
  }
  if (!isAbsolute(root)) {
    process.stderr.write(`PVE_SIM_ROOT must be an absolute path (got '${root}')\n`);
    process.exit(255);
  }
  return resolve(root);
}

export const ROOT = simRoot();
export const NODE = process.env["PVE_SIM_NODE"] || "pve";
export const ETC_PVE = join(ROOT, "etc/pve");
export const LXC_PATH = join(ROOT, "var/lib/lxc");
export const LOCK_DIR = join(ROOT, "run/lock/lxc");
export const RUN_PVE = join(ROOT, "run/pve");
/** what PVE's run_cli_handler sets before running anything */
export const CLI_PATH = "/sbin:/bin:/usr/sbin:/usr/bin";

export function mkdirp(dir, mode = 0o755) {
  mkdirSync(dir, { recursive: true, mode });
}

/** Node-local CT config directory; etc/pve/lxc is a symlink to it as on PVE. */
export function lxcConfDir() {
  const dir = join(ETC_PVE, "nodes", NODE, "lxc");
  if (!existsSync(dir)) mkdirp(dir);
  for (const [link, target] of [
    ["lxc", `nodes/${NODE}/lxc`],
    ["qemu-server", `nodes/${NODE}/qemu-server`],
  ]) {
    const p = join(ETC_PVE, /** @type {string} */ (link));
    let present = true;
    try {
      lstatSync(p);
    } catch {
      present = false;
    }
    if (!present) {
      mkdirp(join(ETC_PVE, /** @type {string} */ (target)));
      try {
        symlinkSync(/** @type {string} */ (target), p);
      } catch {
        /* raced with another process */
      }
    }
  }
  return join(ETC_PVE, "lxc");
}

export function confPath(vmid) {
  return join(lxcConfDir(), `${vmid}.conf`);
}

/** the path PVE prints in messages: relative to /etc/pve */
export function cfsConfigPath(vmid, node = NODE) {
  return `nodes/${node}/lxc/${vmid}.conf`;
}

/**
 * /etc/pve/.vmlist equivalent: every guest config in the "cluster".
 * @returns {Map<number, {node: string, type: "lxc"|"qemu"}>}
 */
export function vmlist() {
  const res = new Map();
  const scan = (dir, node, type) => {
    let entries = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const f of entries) {
      const m = /^(\d+)\.conf$/.exec(f);
      if (m && !res.has(Number(m[1]))) res.set(Number(m[1]), { node, type });
    }
  };
  lxcConfDir();
  // the local node first (etc/pve/lxc may also be a plain directory someone created)
  scan(join(ETC_PVE, "lxc"), NODE, "lxc");
  scan(join(ETC_PVE, "qemu-server"), NODE, "qemu");
  let nodes = [];
  try {
    nodes = readdirSync(join(ETC_PVE, "nodes"));
  } catch {
    /* none */
  }
  for (const n of nodes) {
    scan(join(ETC_PVE, "nodes", n, "lxc"), n, "lxc");
    scan(join(ETC_PVE, "nodes", n, "qemu-server"), n, "qemu");
  }
  return res;
}

/** CTs whose config lives on this node, sorted */
export function localCts() {
  return [...vmlist().entries()]
    .filter(([, d]) => d.node === NODE && d.type === "lxc")
    .map(([id]) => id)
    .sort((a, b) => a - b);
}

/** PVE writes /etc/pve files via tmp file + rename (pmxcfs makes that atomic). */
export function writeFileAtomic(path, data, mode = 0o640) {
  mkdirp(dirname(path));
  const tmp = `${path}.tmp.${process.pid}`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
