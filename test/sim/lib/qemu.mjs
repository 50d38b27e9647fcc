// @ts-check
// The QEMU side of qemu-server: disks on directory storages, the running check of the VM's QEMU
// (lib/kvm.mjs starts it), stop/shutdown over QMP and the guest agent, and vmstatus.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { die, paramError, print, warn } from "./io.mjs";
import { ROOT, mkdirp } from "./env.mjs";
import { absFilesystemPath, parseVolname, parseVolumeId, storageCheckEnabled, storageConfig, volumePath } from "./storage.mjs";
import { assertConfigExists, isCdrom, isDriveKey, parseDrive } from "./qmconf.mjs";
import { agentEnabled, pidFile, qmpSocket } from "./kvm.mjs";
import { isTimeout, qmp } from "./qmp.mjs";
import { agentCmd } from "./agent.mjs";
import { formatSize, parseSize } from "./schema.mjs";

const NEW_DISK_RE = /^([^:\s]+):(\d+(\.\d+)?)$/;
export const QEMU_VERSION = "9.2.0";


function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return undefined;
  }
}

function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** vm_running_locally: the pid file names a live process whose argv is this VM's kvm */
export function runningPid(vmid) {
  let pid;
  try {
    pid = Number(readFileSync(pidFile(vmid), "utf8").trim());
  } catch {
    return undefined;
  }
  const argv = cmdline(pid);
  const state = procState(pid)?.[0];
  if (!argv || state === "Z" || state === "X") return undefined;
  // stock QEMU has no `-id <vmid>` (a Proxmox patch): the VM's own pid file in its argv names it
  const i = argv.indexOf("-pidfile");
  return i >= 0 && argv[i + 1] === pidFile(vmid) ? pid : undefined;
}

/** check_running: asserts the config exists on this node first */
export function checkRunning(vmid) {
  assertConfigExists(vmid);
  return runningPid(vmid);
}


// ---------------------------------------------------------------------------------------------
// disks

function imagesDir(cfg, sid, vmid) {
  const s = storageConfig(cfg, sid);
  if (!s.path) throw die(`storage type '${s.type}' is not supported by the simulator (only directory storages)`);
  const dir = join(s.path, "images", String(vmid));
  mkdirp(dir);
  return dir;
}

/** vdisk_alloc on a dir storage: `<storage>:<vmid>/vm-<vmid>-disk-<n>.<fmt>` */
export function allocDisk(cfg, sid, vmid, sizeBytes, fmt = "raw") {
  const dir = imagesDir(cfg, sid, vmid);
  for (let n = 0; ; n++) {
    const name = `vm-${vmid}-disk-${n}.${fmt}`;
    const p = join(dir, name);
    if (existsSync(p)) continue;
    writeFileSync(p, "");
    truncateSync(p, sizeBytes);
    print(`Formatting '${p}', fmt=${fmt} size=${sizeBytes} preallocation=off\n`);
    return `${sid}:${vmid}/${name}`;
  }
}

/** qemu_img_convert: a disk's blocks into another volume (sparse: zeros are not written) */
export function copyImage(src, dst) {
  const r = spawnSync("qemu-img", ["convert", "-O", "raw", src, dst], { encoding: "utf8" });
  if (r.status !== 0) throw die(`copy failed: command 'qemu-img convert' failed: ${(r.stderr || r.error?.message || "").trim()}`);
}

/** the cloud-init drive's volume */
export function allocCloudinit(cfg, sid, vmid) {
  const dir = imagesDir(cfg, sid, vmid);
  const name = `vm-${vmid}-cloudinit.qcow2`;
  const p = join(dir, name);
  writeFileSync(p, "");
  truncateSync(p, 4 * 1024 * 1024);
  print(`Formatting '${p}', fmt=qcow2 cluster_size=65536 extended_l2=off preallocation=metadata compression_type=zlib size=4194304 lazy_refcounts=off refcount_bits=16\n`);
  return `${sid}:${vmid}/${name}`;
}

/**
 * Pre-task checks of the drive options ($check_storage_access): storages enabled with `images`
 * content, import-from syntax and source, ISOs as cdrom.
 */
export function checkDriveParams(cfg, param) {
  for (const [key, value] of Object.entries(param)) {
    if (!isDriveKey(key)) continue;
    const drive = parseDrive(String(value));
    const file = drive.file ?? "";
    if (file === "none" || file === "cdrom") continue;
    const m = NEW_DISK_RE.exec(file);
    const ci = /^([^:\s]+):cloudinit$/.exec(file);
    if (m || ci) {
      const sid = /** @type {string} */ ((m ?? ci)?.[1]);
      const scfg = storageCheckEnabled(cfg, sid);
      if (!scfg.content.has("images")) throw paramError({ storage: `storage '${sid}' does not support vm images` });
      if (drive["import-from"] !== undefined) {
        if (!m || Number(m[2]) !== 0) throw paramError({ [key]: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>" });
        absFilesystemPath(cfg, drive["import-from"]);
      }
      continue;
    }
    if (drive["import-from"] !== undefined) throw paramError({ [key]: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>" });
    if (parseVolumeId(file, true)) {
      const { vtype } = parseVolname(cfg, file);
      if (vtype === "iso" && !isCdrom(drive)) throw paramError({ [key]: "explicit 'media=cdrom' is required for iso images" });
    }
  }
}


/**
 * Allocates what the drive options ask for (new disks, imports, cloud-init drives) and returns the
 * options as they go into the config; `made` collects new volumes for rollback.
 */
export function createDisks(cfg, vmid, param, made) {
  /** @type {Record<string,string>} */
  const out = {};
  for (const [key, value] of Object.entries(param)) {
    if (!isDriveKey(key)) continue;
    const drive = parseDrive(String(value));
    const file = drive.file ?? "";
    const m = NEW_DISK_RE.exec(file);
    const ci = /^([^:\s]+):cloudinit$/.exec(file);
    if (ci) {
      const volid = allocCloudinit(cfg, /** @type {string} */ (ci[1]), vmid);
      made.push(volid);
      out[key] = `${volid},media=cdrom`;
    } else if (m && drive["import-from"] !== undefined) {
      const src = absFilesystemPath(cfg, drive["import-from"]);
      const size = statSync(src).size;
      const volid = allocDisk(cfg, /** @type {string} */ (m[1]), vmid, 0);
      made.push(volid);
      print(`importing disk '${drive["import-from"]}' to VM ${vmid} ...\n`);
      copyImage(src, volumePath(cfg, volid));
      print(`transferred ${formatSize(size)} of ${formatSize(size)} (100.00%)\n`);
      const { "import-from": _src, file: _f, ...opts } = drive;
      out[key] = [volid, ...Object.entries({ ...opts, size: formatSize(size) }).map(([k, v]) => `${k}=${v}`)].join(",");
    } else if (m) {
      const size = Math.trunc(Number(m[2]) * 1024 ** 3);
      const volid = allocDisk(cfg, /** @type {string} */ (m[1]), vmid, size);
      made.push(volid);
      const { file: _f, ...opts } = drive;
      out[key] = [volid, ...Object.entries({ ...opts, size: formatSize(size) }).map(([k, v]) => `${k}=${v}`)].join(",");
    } else out[key] = String(value);
  }
  return out;
}

/** vdisk_free; the images/<vmid> directory goes when empty */
export function freeVolume(cfg, volid) {
  const p = volumePath(cfg, volid);
  rmSync(p, { force: true });
  try {
    if (readdirSync(join(p, "..")).length === 0) rmSync(join(p, ".."), { recursive: true, force: true });
  } catch {
    /* gone */
  }
}

/** volumes the config references (disks and the cloud-init drive; not ISOs of other guests) */
export function ownedVolumes(conf, vmid) {
  const res = [];
  for (const [k, v] of Object.entries(conf)) {
    if (!isDriveKey(k) && !/^unused\d+$/.test(k)) continue;
    const file = parseDrive(String(v)).file ?? "";
    if (new RegExp(`^[^:]+:(${vmid}/)?(vm|base)-${vmid}-`).test(file)) res.push(file);
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// the VM process (lib/kvm.mjs starts it)

/** QMP `query-status` of a running VM: `running`, `paused`, `shutdown`, `prelaunch`, ... */
export async function qmpStatus(vmid) {
  try {
    return String((await qmp(qmpSocket(vmid), "query-status")).status);
  } catch {
    return undefined;
  }
}

/** vm_is_paused */
export async function isPaused(vmid) {
  return (await qmpStatus(vmid)) === "paused";
}

/**
 * vm_stop_cleanup's caller: an error of a QMP command on the VM, as mon_cmd words it
 * @param {number} vmid
 * @param {string} execute
 * @param {Record<string, any>} [args]
 */
export async function monCmd(vmid, execute, args) {
  try {
    return await qmp(qmpSocket(vmid), execute, args);
  } catch (e) {
    throw die(`VM ${vmid} qmp command '${execute}' failed - ${isTimeout(e) ? "got timeout" : /** @type {Error} */ (e).message}`);
  }
}

async function waitGone(vmid, seconds) {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (!runningPid(vmid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !runningPid(vmid);
}

function cleanupPid(vmid) {
  try {
    unlinkSync(pidFile(vmid));
  } catch {
    /* gone */
  }
}

/**
 * _do_vm_stop: shutdown (the guest agent's guest-shutdown when `agent` is enabled, else ACPI
 * system_powerdown) or QMP quit; wait `timeout` seconds; then with `force` SIGTERM and 10 s later
 * SIGKILL, else "got timeout".
 */
export async function doVmStop(vmid, conf, timeout, shutdown, force) {
  const pid = runningPid(vmid);
  if (!pid) return;
  if (!shutdown) await monCmd(vmid, "quit").catch(() => undefined);
  else if (agentEnabled(conf)) await agentCmd(vmid, conf, "guest-shutdown", undefined, true);
  else await monCmd(vmid, "system_powerdown");
  const t = timeout ?? 60;
  if (await waitGone(vmid, t)) return cleanupPid(vmid);
  if (!force) throw die("VM quit/powerdown failed - got timeout");
  warn("VM still running - terminating now with SIGTERM");
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    /* gone */
  }
  if (!(await waitGone(vmid, 10))) {
    warn("VM still running - terminating now with SIGKILL");
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
    await waitGone(vmid, 1);
  }
  cleanupPid(vmid);
}

// ---------------------------------------------------------------------------------------------
// vmstatus

const CLK_TCK = 100;

function uptimeOf(pid) {
  const f = procState(pid);
  if (!f) return 0;
  const start = Number(f[19]) / CLK_TCK;
  const up = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  return Math.max(0, Math.trunc(up - start));
}

function rssOf(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** vmstatus($vmid, full): the fields qm status --verbose prints (of the nested hashes: nics, proxmox-support) */
export async function vmstatus(cfg, vmid, conf) {
  const pid = runningPid(vmid);
  const memMiB = Number(/(\d+)$/.exec(String(conf.memory ?? "512"))?.[1] ?? 512);
  let maxdisk = 0;
  const boot = /order=([a-z0-9]+)/.exec(String(conf.boot ?? ""))?.[1];
  const bootKey = boot && conf[boot] ? boot : Object.keys(conf).find((k) => isDriveKey(k) && !isCdrom(parseDrive(String(conf[k]))));
  if (bootKey && conf[bootKey]) maxdisk = parseSize(parseDrive(String(conf[bootKey])).size ?? "0") ?? 0;
  /** @type {Record<string, any>} */
  const d = {
    vmid: Number(vmid),
    name: conf.name ?? `VM ${vmid}`,
    status: pid ? "running" : "stopped",
    cpus: Number(conf.sockets ?? 1) * Number(conf.cores ?? 1),
    maxmem: memMiB * 1024 * 1024,
    maxdisk,
    disk: 0,
    diskread: 0,
    diskwrite: 0,
    netin: 0,
    netout: 0,
    mem: pid ? rssOf(pid) : 0,
    uptime: pid ? uptimeOf(pid) : 0,
  };
  if (pid) {
    d.pid = pid;
    d.qmpstatus = (await qmpStatus(vmid)) ?? "running";
    d["running-machine"] = "pc-i440fx-9.2+pve0";
    d["running-qemu"] = QEMU_VERSION;
    d["proxmox-support"] = { "pbs-dirty-bitmap": 1, "pbs-dirty-bitmap-migration": 1, "pbs-masterkey": 1, "query-bitmap-info": 1 };
    /** @type {Record<string, Record<string, number>>} */
    const nics = {};
    for (const k of Object.keys(conf)) {
      const m = /^net(\d+)$/.exec(k);
      if (m) nics[`tap${vmid}i${m[1]}`] = { netin: 0, netout: 0 };
    }
    d.nics = nics;
  }
  if (conf.lock) d.lock = conf.lock;
  if (conf.tags) d.tags = conf.tags;
  if (conf.template) d.template = 1;
  if (Object.keys(conf).some((k) => /^serial\d$/.test(k))) d.serial = 1;
  return d;
}
