// @ts-check
// The QEMU side of qemu-server: disks on directory storages, the VM process (lib/kvm.mjs standing
// in for QEMU), its pid file, running check, start/stop/shutdown and vmstatus.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { die, paramError, print, warn } from "./io.mjs";
import { ROOT, mkdirp } from "./env.mjs";
import { absFilesystemPath, parseVolname, parseVolumeId, storageCheckEnabled, storageConfig, volumePath } from "./storage.mjs";
import { assertConfigExists, isCdrom, isCloudinit, isDriveKey, parseDrive } from "./qmconf.mjs";
import { formatSize, parseSize } from "./schema.mjs";

const KVM = join(import.meta.dirname, "kvm.mjs");
const NEW_DISK_RE = /^([^:\s]+):(\d+(\.\d+)?)$/;
export const QEMU_VERSION = "9.2.0";

export const pidFile = (vmid) => join(ROOT, "var/run/qemu-server", `${vmid}.pid`);

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
  const i = argv.indexOf("-id");
  return i >= 0 && argv[i + 1] === String(vmid) ? pid : undefined;
}

/** check_running: asserts the config exists on this node first */
export function checkRunning(vmid) {
  assertConfigExists(vmid);
  return runningPid(vmid);
}

/** vm_is_paused: vCPUs stopped (the stand-in's process is SIGSTOPped) */
export function isPaused(vmid) {
  const pid = runningPid(vmid);
  const state = pid ? procState(pid)?.[0] : undefined;
  return state === "T" || state === "t";
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
      copyFileSync(src, volumePath(cfg, volid));
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
// the VM process

/** config_to_command, reduced: an argv that names the VM and what its guest would see */
function kvmArgs(vmid, conf) {
  const mem = /(\d+)$/.exec(String(conf.memory ?? "512"))?.[1] ?? "512";
  return [
    "-id", String(vmid),
    "-name", `${conf.name ?? `VM ${vmid}`},debug-threads=on`,
    "-pidfile", pidFile(vmid),
    "-smp", `${Number(conf.sockets ?? 1) * Number(conf.cores ?? 1)},sockets=${conf.sockets ?? 1},cores=${conf.cores ?? 1},maxcpus=${Number(conf.sockets ?? 1) * Number(conf.cores ?? 1)}`,
    "-m", mem,
    "-acpi", conf.acpi === "0" ? "off" : "on",
    "-machine", "type=pc-i440fx-9.2+pve0",
  ];
}

/**
 * The cloud-init drive is generated at start from `cicustom` snippets (Cloudinit.pm
 * read_cloudinit_snippets_file): each must be a snippets volume that exists.
 */
export function checkCloudinit(cfg, conf) {
  const hasDrive = Object.entries(conf).some(([k, v]) => isDriveKey(k) && isCloudinit(parseDrive(String(v))));
  if (!hasDrive || !conf.cicustom) return;
  for (const part of String(conf.cicustom).split(",")) {
    const volid = part.slice(part.indexOf("=") + 1);
    const { vtype } = parseVolname(cfg, volid);
    if (vtype !== "snippets") throw die(`${volid} is not in the snippets directory`);
    absFilesystemPath(cfg, volid);
  }
}

/** spawns the stand-in QEMU detached and writes its pid file */
export async function startKvm(vmid, conf) {
  mkdirp(join(ROOT, "var/run/qemu-server"));
  const child = spawn(process.execPath, [KVM, ...kvmArgs(vmid, conf)], { argv0: "kvm", detached: true, stdio: "ignore" });
  const pid = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("spawn", () => resolve(child.pid));
  });
  child.unref();
  writeFileSync(pidFile(vmid), `${pid}\n`);
  return /** @type {number} */ (pid);
}

async function waitGone(vmid, seconds) {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (!runningPid(vmid)) return true;
    await new Promise((r) => setTimeout(r, 50));
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
 * _do_vm_stop: shutdown (ACPI powerdown, the stand-in's SIGUSR1) or quit (SIGTERM), wait `timeout`
 * seconds; then with `force` SIGTERM and 10 s later SIGKILL, else "got timeout".
 */
export async function doVmStop(vmid, timeout, shutdown, force) {
  const pid = runningPid(vmid);
  if (!pid) return;
  // QMP answers while the vCPUs are paused; the stand-in's process must be running to get the request
  if (!shutdown && isPaused(vmid)) process.kill(pid, "SIGCONT");
  process.kill(pid, shutdown ? "SIGUSR1" : "SIGTERM");
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
export function vmstatus(cfg, vmid, conf) {
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
    d.qmpstatus = isPaused(vmid) ? "paused" : "running";
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
