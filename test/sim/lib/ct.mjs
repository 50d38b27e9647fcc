// @ts-check
// Container operations shared by pct and pvesh: the API methods of pve-container
// (API2/LXC.pm create_vm/destroy_vm, API2/LXC/Status.pm, API2/LXC/Config.pm) ported to the simulator.
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { die, errText, paramError, print, warn } from "./io.mjs";
import { forkWorker } from "./cli.mjs";
import { RUN_PVE } from "./env.mjs";
import {
  addToPendingDelete,
  checkLock,
  checkProtection,
  checkVmidUnused,
  cleanupPending,
  confdesc,
  configExists,
  createAndLockConfig,
  destroyConfig,
  loadConfig,
  lockConfig,
  netDesc,
  parseNet,
  parsePendingDelete,
  parseVolume,
  printMountpoint,
  printNet,
  removeFromPendingDelete,
  removeLock,
  volumeKeys,
  writeConfig,
} from "./pveconf.mjs";
import {
  absFilesystemPath,
  allocSubvol,
  checkVolumeAccess,
  freeVolume,
  parseVolumeId,
  readStorageCfg,
  storageCheckEnabled,
  storageConfig,
} from "./storage.mjs";
import {
  cgroupLayout,
  checkRunning,
  childEnv,
  clampCpuShares,
  ctDir,
  findLxcPid,
  lxcStart,
  parseIdMaps,
  removeStaleCgroups,
  runCommand,
  untraversable,
  updateLxcConfig,
  vmStop,
  volumeDir,
} from "./lxc.mjs";
import { parsePropertyString, splitList } from "./schema.mjs";
import { restoreOciArchive } from "./oci.mjs";

const NEW_DISK_RE = /^([^:\s]+):(\d+(\.\d+)?)$/;
const COMMON_TAR_FLAGS = [
  "--one-file-system",
  "-p",
  "--sparse",
  "--numeric-owner",
  "--acls",
  "--xattrs",
  "--xattrs-include=user.*",
  "--xattrs-include=security.capability",
  "--warning=no-file-ignored",
  "--warning=no-xattr-write",
];

// ---------------------------------------------------------------------------------------------
// disks

/**
 * PVE::LXC::create_disks (directory storages only: subvolume directories)
 * @param {Map<string, any>} cfg
 * @param {number} vmid
 * @param {Record<string, any>} settings  rootfs/mpN values to allocate
 * @param {Record<string, any>} conf  receives the printed mount points
 * @param {Record<string, any>} [idConf]  config whose idmap owns the new volumes (default: conf)
 */
function createDisks(cfg, vmid, settings, conf, idConf = conf) {
  /** @type {string[]} */
  const vollist = [];
  try {
    const { rootUid, rootGid } = parseIdMaps(idConf);
    for (const key of volumeKeys(settings)) {
      const mp = parseVolume(key, settings[key]);
      const m = mp.type === "volume" ? NEW_DISK_RE.exec(mp.volume) : null;
      if (m && parseVolumeId(mp.volume, true)) {
        const sizeKb = Math.trunc(Number(m[2]) * 1024) * 1024;
        const volid = allocSubvol(cfg, m[1], vmid, rootUid, rootGid);
        vollist.push(volid);
        mp.volume = volid;
        mp.size = sizeKb * 1024;
      }
      conf[key] = printMountpoint(mp, key === "rootfs");
    }
  } catch (e) {
    destroyDisks(cfg, vollist);
    throw e;
  }
  return vollist;
}

function destroyDisks(cfg, vollist) {
  for (const volid of vollist) {
    try {
      freeVolume(cfg, volid);
    } catch (e) {
      warn(errText(e));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// template extraction and OS detection (PVE::LXC::Create, PVE::LXC::Setup)

function tarCompressionOption(archive) {
  const map = { ".gz": "-z", ".bz2": "-j", ".xz": "-J", ".lzo": "--lzop", ".zst": "--zstd" };
  const m = /\.tar(\.[^.]+)?$/.exec(archive);
  if (!m) throw die(`file does not look like a template archive: ${archive}`);
  if (!m[1]) return undefined;
  const opt = map[/** @type {keyof typeof map} */ (m[1])];
  if (!opt) throw die(`unrecognized compression format: ${m[1]}`);
  return opt;
}

function archiveIsOciFormat(cfg, archive) {
  let file;
  try {
    file = absFilesystemPath(cfg, archive);
  } catch (e) {
    warn(errText(e));
    return false;
  }
  if (!/\.tar$/.test(file)) return false;
  const r = spawnSync("tar", ["-tf", file], { encoding: "utf8", env: childEnv(), maxBuffer: 256 * 1024 * 1024 });
  const lines = (r.stdout ?? "").split("\n");
  return lines.includes("oci-layout") && lines.includes("index.json") && lines.some((l) => l.startsWith("blobs/"));
}

/** the argv prefix that runs a command in the CT's user namespace (none for privileged CTs) */
function usernsPrefix(conf) {
  const { map } = parseIdMaps(conf);
  return map.length ? ["lxc-usernsexec", ...map.flatMap((m) => ["-m", m.join(":")]), "--"] : [];
}

function restoreArchive(cfg, archive, rootdir, conf, noUnpackError) {
  const path = absFilesystemPath(cfg, archive);
  const compression = tarCompressionOption(path);
  const cmd = [...usernsPrefix(conf), "tar", "xpf", "-", ...(compression ? [compression] : []), "--totals", ...COMMON_TAR_FLAGS];
  cmd.push("-C", rootdir, "--skip-old-files", "--anchored", "--exclude", "./dev/*");
  let fd;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw die(`failed to open '${path}': ${/** @type {Error} */ (e).message}`);
  }
  print(`extracting archive '${path}'\n`);
  try {
    runCommand(cmd, { stdin: fd });
  } catch (e) {
    if (!noUnpackError) throw e;
  } finally {
    closeSync(fd);
  }
}

/** resolve `p` inside `root` like a chroot would (symlinks can't escape) */
function resolveInRoot(root, p) {
  const parts = p.split("/").filter(Boolean);
  /** @type {string[]} */
  const done = [];
  for (let hops = 0; parts.length; ) {
    const part = /** @type {string} */ (parts.shift());
    if (part === ".") continue;
    if (part === "..") {
      done.pop();
      continue;
    }
    const full = join(root, ...done, part);
    let st;
    try {
      st = lstatSync(full);
    } catch {
      return join(root, ...done, part, ...parts); // missing: callers check existence
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return full;
      const target = readlinkSync(full);
      if (target.startsWith("/")) done.length = 0;
      parts.unshift(...target.split("/").filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}

const OS_PLUGINS = ["alpine", "archlinux", "centos", "debian", "devuan", "fedora", "gentoo", "openeuler", "opensuse", "ubuntu", "nixos", "unmanaged"];
const OS_ALIAS = {
  "opensuse-leap": "opensuse",
  "opensuse-tumbleweed": "opensuse",
  "opensuse-slowroll": "opensuse",
  openEuler: "openeuler",
  arch: "archlinux",
  sles: "opensuse",
  rocky: "centos",
  almalinux: "centos",
};

function detectOstype(rootdir) {
  const f = (p) => {
    try {
      return lstatSync(resolveInRoot(rootdir, p)).isFile();
    } catch {
      return false;
    }
  };
  let osRelease = "";
  for (const p of ["/etc/os-release", "/usr/lib/os-release"]) {
    try {
      osRelease = readFileSync(resolveInRoot(rootdir, p), "utf8");
      break;
    } catch {
      /* next */
    }
  }
  const id = /^ID=["']?([^"'\n]*)["']?$/m.exec(osRelease)?.[1];
  if (id) {
    if (OS_PLUGINS.includes(id)) return id;
    const alias = OS_ALIAS[/** @type {keyof typeof OS_ALIAS} */ (id)];
    if (alias) return alias;
    warn(`unknown ID '${id}' in /etc/os-release file, trying fallback detection`);
  }
  try {
    if (/^DISTRIB_ID=Ubuntu$/im.test(readFileSync(resolveInRoot(rootdir, "/etc/lsb-release"), "utf8"))) return "ubuntu";
  } catch {
    /* none */
  }
  if (f("/etc/debian_version")) return "debian";
  if (f("/etc/devuan_version")) return "devuan";
  if (f("/etc/SuSE-brand") || f("/etc/SuSE-release")) return "opensuse";
  if (f("/etc/fedora-release")) return "fedora";
  if (f("/etc/centos-release") || f("/etc/redhat-release")) return "centos";
  if (f("/etc/arch-release")) return "archlinux";
  if (f("/etc/alpine-release")) return "alpine";
  if (f("/etc/gentoo-release")) return "gentoo";
  if (existsSync(resolveInRoot(rootdir, "/nix/store"))) return "nixos";
  if (f("/etc/openEuler-release")) return "openeuler";
  if (f("/etc/os-release")) throw die("unable to detect OS distribution");
  warn("/etc/os-release file not found and autodetection failed, falling back to 'unmanaged'");
  return "unmanaged";
}

/** PVE::LXC::Tools::detect_elf_architecture('/bin/sh') inside the CT */
function detectArchitecture(rootdir) {
  const file = resolveInRoot(rootdir, "/bin/sh");
  const buf = Buffer.alloc(20);
  let fd;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw die(`open '/bin/sh' failed: ${/** @type {Error} */ (e).message}`);
  }
  try {
    readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  if (buf.subarray(0, 4).toString("latin1") !== "\x7fELF") throw die("'/bin/sh' does not resolve to an ELF!");
  const machine = buf.readUInt16BE(17);
  const cls = buf[4];
  const arch = { 0x03: "i386", 0x3e: "amd64", 0x28: "armhf", 0xb7: "arm64", 0xf3: "riscv" }[machine];
  if (!arch) throw die(`'/bin/sh' has unknown ELF machine '${machine}'!`);
  if (arch === "riscv") return cls === 1 ? "riscv32" : "riscv64";
  return arch;
}

/** PVE::LXC::Setup->new: OS type (the plugin sets conf.ostype) and architecture */
function setupDetect(conf, rootdir) {
  let type;
  if (conf.ostype === "unmanaged") type = "unmanaged";
  else {
    type = detectOstype(rootdir);
    const expected = conf.ostype || type;
    if (type !== expected) {
      if (!existsSync(join(rootdir, "etc"))) warn("WARNING: /etc not present in CT, is the rootfs mounted?");
      warn(`got unexpected ostype (${type} != ${expected})`);
    }
  }
  conf.ostype = type;
  if (!conf.arch) {
    let arch;
    if (type !== "unmanaged") {
      try {
        arch = detectArchitecture(rootdir);
      } catch (e) {
        warn(`Architecture detection failed: ${errText(e)}`);
      }
    }
    if (!arch) {
      arch = "amd64";
      print(`Falling back to ${arch}.\nUse \`pct set VMID --arch ARCH\` to change.\n`);
    } else print(`Detected container architecture: ${arch}\n`);
    conf.arch = arch;
  }
}

// ---------------------------------------------------------------------------------------------
// config updates (PVE::LXC::Config update_pct_config & friends)

const FASTPLUG = new Set(["description", "onboot", "startup", "protection", "hostname", "hookscript", "cores", "tags", "lock"]);

/** PVE::GuestHelpers::get_unique_tags */
function uniqueTags(tags) {
  const list = splitList(tags).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0));
  return [...new Set(list.map((t) => t.toLowerCase()))].join(";");
}

/**
 * @param {number} vmid
 * @param {import("./pveconf.mjs").PctConf} conf
 * @param {boolean} running
 * @param {Record<string, any>} param
 * @param {string[]} [del]
 * @param {string[]} [revert]
 */
export function updatePctConfig(vmid, conf, running, param, del = [], revert = []) {
  const cfg = readStorageCfg();
  conf.pending ??= {};
  for (const opt of revert) {
    delete conf.pending[opt];
    removeFromPendingDelete(conf, opt);
  }
  const modified = new Set();
  for (const opt of del) {
    if (conf[opt] === undefined && conf.pending[opt] === undefined) {
      warn(`cannot delete '${opt}' - not set in current configuration!`);
      continue;
    }
    modified.add(opt);
    if (opt === "memory" || opt === "rootfs" || opt === "ostype") throw die(`unable to delete required option '${opt}'`);
    if (/^(unused|mp)\d+$/.test(opt)) checkProtection(conf, `can't remove CT ${vmid} drive '${opt}'`);
    else if (opt === "unprivileged") throw die(`unable to delete read-only option: '${opt}'`);
    addToPendingDelete(conf, opt);
  }
  for (const opt of Object.keys(param).sort()) {
    modified.add(opt);
    let value = param[opt];
    if (/^mp\d+$/.test(opt) || opt === "rootfs") {
      checkProtection(conf, `can't update CT ${vmid} drive '${opt}'`);
      const mp = parseVolume(opt, value);
      if (mp.type === "volume") {
        const parsed = /** @type {[string,string]} */ (parseVolumeId(mp.volume));
        const s = storageConfig(cfg, parsed[0]);
        if (!s.content.has("rootdir")) throw die(`storage '${parsed[0]}' does not allow content type 'rootdir' (Container)`);
      }
    } else if (opt === "unprivileged") throw die(`unable to modify read-only option: '${opt}'`);
    else if (opt === "tags") value = uniqueTags(value);
    else if (/^net\d+$/.test(opt)) {
      const res = parsePropertyString(netDesc, value);
      if (res.link_down !== "1" && res["host-managed"] === "1" && res.ip6 === "auto")
        throw die(`${opt}: SLAAC is not supported for host-managed network configuration.`);
    }
    conf.pending[opt] = value;
    removeFromPendingDelete(conf, opt);
  }
  cleanupPending(conf);
  /** @type {Map<string,string>} */
  const errors = new Map();
  if (running) hotplugPending(vmid, conf, modified, errors);
  else applyPending(vmid, conf, cfg, modified, errors);
  if (!Object.keys(conf.pending).length) delete conf.pending;
  return errors;
}

/** vmconfig_apply_pending */
function applyPending(vmid, conf, cfg, selection, errors) {
  const pending = (conf.pending ??= {});
  for (const opt of [...parsePendingDelete(pending.delete).keys()].sort()) {
    if (selection && !selection.has(opt)) continue;
    try {
      if (/^unused\d+$/.test(opt)) freeVolume(cfg, parseVolume(opt, conf[opt]).volume);
      else if (/^mp\d+$/.test(opt)) {
        // add_unused_volume: a detached volume is kept as unusedN
        const mp = parseVolume(opt, conf[opt]);
        if (mp.type === "volume") {
          let i = 0;
          while (conf[`unused${i}`] !== undefined) i++;
          conf[`unused${i}`] = mp.volume;
        }
      }
      delete conf[opt];
      removeFromPendingDelete(conf, opt);
    } catch (e) {
      const msg = `unable to apply pending change ${opt} : ${errText(e)}`;
      errors.set(opt, msg);
      warn(msg);
    }
  }
  cleanupPending(conf);
  for (const opt of Object.keys(pending).sort()) {
    if (opt === "delete" || (selection && !selection.has(opt))) continue;
    try {
      if (/^mp\d+$/.test(opt)) createDisks(cfg, vmid, { [opt]: pending[opt] }, pending, conf);
      else if (/^net\d+$/.test(opt)) pending[opt] = printNet(parseNet(pending[opt]));
      conf[opt] = pending[opt];
      delete pending[opt];
    } catch (e) {
      const msg = `unable to apply pending change ${opt} : ${errText(e)}`;
      errors.set(opt, msg);
      warn(msg);
    }
  }
}

function writeCgroup(file, value) {
  writeFileSync(file, String(value));
}

/** vmconfig_hotplug_pending: config-only options, memory/swap and CPU limits on the live cgroup */
function hotplugPending(vmid, conf, selection, errors) {
  findLxcPid(vmid);
  const pending = conf.pending;
  const layout = cgroupLayout();
  const dir = (ctrl) => {
    const base = layout.v2ctrl.has(ctrl) ? layout.v2 : layout.v1.get(ctrl);
    return base ? join(base, "lxc", String(vmid)) : undefined;
  };
  const v2 = (ctrl) => layout.v2ctrl.has(ctrl);
  for (const opt of Object.keys(pending).sort())
    if (FASTPLUG.has(opt) && (!selection || selection.has(opt))) {
      conf[opt] = pending[opt];
      delete pending[opt];
    }
  let memoryDone = false;
  const hotplugMemory = (memMb, swapMb) => {
    const d = dir("memory");
    if (!d) throw new Error("no memory cgroup\n");
    const mem = memMb !== undefined ? Math.trunc(Number(memMb) * 1024 * 1024) : undefined;
    const swap = swapMb !== undefined ? Math.trunc(Number(swapMb) * 1024 * 1024) : undefined;
    if (v2("memory")) {
      if (mem !== undefined) {
        writeCgroup(join(d, "memory.max"), mem);
        writeCgroup(join(d, "memory.high"), Number(memMb) >= 16 * 1024 ? mem - 128 * 1024 * 1024 : Math.trunc(Number(memMb) * 1024 * 1016));
      }
      if (swap !== undefined) writeCgroup(join(d, "memory.swap.max"), swap);
    } else {
      const cur = Number(readFileSync(join(d, "memory.limit_in_bytes"), "utf8"));
      const newMem = mem ?? cur;
      const memsw = join(d, "memory.memsw.limit_in_bytes");
      const total = swap !== undefined ? newMem + swap : newMem + (Number(conf.swap ?? 0) * 1024 * 1024);
      if (existsSync(memsw) && newMem > cur) {
        writeCgroup(memsw, total);
        writeCgroup(join(d, "memory.limit_in_bytes"), newMem);
      } else {
        writeCgroup(join(d, "memory.limit_in_bytes"), newMem);
        if (existsSync(memsw)) writeCgroup(memsw, total);
      }
    }
    memoryDone = true;
  };
  const cpuQuota = (limit) => {
    const d = dir("cpu");
    if (!d) throw new Error("no cpu cgroup\n");
    if (v2("cpu")) writeCgroup(join(d, "cpu.max"), limit ? `${Math.trunc(100000 * limit)} 100000` : "max 100000");
    else writeCgroup(join(d, "cpu.cfs_quota_us"), limit ? Math.trunc(100000 * limit) : -1);
  };
  const cpuShares = (shares) => {
    const d = dir("cpu");
    if (!d) throw new Error("no cpu cgroup\n");
    if (v2("cpu")) writeCgroup(join(d, "cpu.weight"), shares ?? 100);
    else writeCgroup(join(d, "cpu.shares"), shares ?? 1024);
  };
  for (const opt of [...parsePendingDelete(pending.delete).keys()].sort()) {
    if (selection && !selection.has(opt)) continue;
    try {
      if (FASTPLUG.has(opt)) {
        /* config only */
      } else if (opt === "swap") hotplugMemory(undefined, 0);
      else if (opt === "cpulimit") cpuQuota(0);
      else if (opt === "cpuunits") cpuShares(undefined);
      else throw new Error("skip\n");
      delete conf[opt];
      removeFromPendingDelete(conf, opt);
    } catch (e) {
      const msg = /** @type {Error} */ (e).message;
      if (msg !== "skip\n") errors.set(opt, `unable to hotplug ${opt}: ${msg}`);
    }
  }
  for (const opt of Object.keys(pending).sort()) {
    if (opt === "delete" || (selection && !selection.has(opt))) continue;
    const value = pending[opt];
    try {
      if (opt === "cpulimit") cpuQuota(Number(value));
      else if (opt === "cpuunits") cpuShares(value);
      else if (opt === "memory" || opt === "swap") {
        if (!memoryDone) hotplugMemory(pending.memory, pending.swap);
      } else throw new Error("skip\n"); // applied at the next start
      conf[opt] = value;
      delete pending[opt];
    } catch (e) {
      const msg = /** @type {Error} */ (e).message;
      if (msg !== "skip\n") errors.set(opt, `unable to hotplug ${opt}: ${msg}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// create

/** API2::LXC create_vm */
export async function createVm(param) {
  param = { ...param };
  const take = (k) => {
    const v = param[k];
    delete param[k];
    return v;
  };
  const node = take("node");
  const vmid = Number(take("vmid"));
  const ignoreUnpackErrors = take("ignore-unpack-errors");
  take("bwlimit");
  const startAfterCreate = take("start");
  const haManaged = take("ha-managed");
  const sameContainerExists = configExists(vmid);
  let unprivileged = take("unprivileged");
  const restore = take("restore");
  take("unique");
  if (param.cpuunits !== undefined) param.cpuunits = clampCpuShares(param.cpuunits);
  if (restore) throw die(`unable to restore CT ${vmid} - restore is not supported by the simulator`);
  unprivileged ??= 1;
  const force = take("force");
  checkVmidUnused(vmid);
  take("password"); // only used by the OS setup, which is not simulated
  take("ssh-public-keys");
  const pool = take("pool");
  if (pool !== undefined) throw die(`pool '${pool}' does not exist`);
  const ostemplate = String(take("ostemplate"));
  const storage = take("storage") ?? "local";
  const cfg = readStorageCfg();
  if (ostemplate === "-") throw die("pipe can only be used with restore tasks");
  checkVolumeAccess(cfg, ostemplate, "vztmpl");

  const checkAndActivateStorage = (sid) => {
    const s = storageCheckEnabled(cfg, sid, node);
    if (!s.content.has("rootdir")) throw paramError({ storage: `storage '${sid}' does not support container directories` });
  };

  /** @type {import("./pveconf.mjs").PctConf} */
  const conf = {};
  /** @type {Record<string, any>} */
  const noDiskParam = {};
  /** @type {Record<string, any>} */
  const mpParam = {};
  let storageOnlyMode = true;
  for (const [opt, value] of Object.entries(param)) {
    if (opt === "rootfs" || /^mp\d+$/.test(opt)) {
      mpParam[opt] = /^\d+(\.\d+)?$/.test(String(value)) ? `${storage}:${value}` : value;
      storageOnlyMode = false;
    } else if (/^unused\d+$/.test(opt)) warn(`ignoring '${opt}', cannot create/restore with unused volume`);
    else noDiskParam[opt] = value;
  }
  if (!storageOnlyMode && mpParam.rootfs === undefined) throw die("mount points configured, but 'rootfs' not set - aborting");
  for (const key of volumeKeys(mpParam)) {
    const mp = parseVolume(key, mpParam[key]);
    if (mp.type !== "volume") continue; // bind/device: root only, and we are root
    const [sid] = /** @type {[string,string]} */ (parseVolumeId(mp.volume));
    checkAndActivateStorage(sid);
  }
  if (mpParam.rootfs === undefined) checkAndActivateStorage(storage);

  updatePctConfig(vmid, conf, false, noDiskParam);
  delete conf.pending;
  if (unprivileged) conf.unprivileged = 1;

  const emsg = `unable to create CT ${vmid} -`;
  try {
    await createAndLockConfig(vmid, force);
  } catch (e) {
    throw die(`${emsg} ${errText(e)}`);
  }

  let destroyConfigOnError = !sameContainerExists;
  const code = async () => {
    loadConfig(vmid);
    /** @type {string[]} */
    let vollist = [];
    try {
      if (storageOnlyMode) mpParam.rootfs = `${storage}:4`;
      destroyConfigOnError = true;
      vollist = createDisks(cfg, vmid, mpParam, conf);
      const rootdir = volumeDir(cfg, "rootfs", conf.rootfs);
      const { map, rootUid, rootGid } = parseIdMaps(conf);
      const blocked = map.length ? untraversable(rootdir, rootUid, rootGid) : undefined;
      if (blocked)
        throw die(
          `'${blocked}' is not searchable by the container's root user (uid ${rootUid}) - ` +
            "every directory above the container volumes must be world-searchable (chmod o+x)",
        );
      if (archiveIsOciFormat(cfg, ostemplate)) {
        restoreOciArchive(absFilesystemPath(cfg, ostemplate), rootdir, conf, usernsPrefix(conf), COMMON_TAR_FLAGS, resolveInRoot);
      } else restoreArchive(cfg, ostemplate, rootdir, conf, ignoreUnpackErrors);
      setupDetect(conf, rootdir); // detect OS
      writeConfig(vmid, conf); // save config (after OS detection)
      // post_create_hook (hostname/network/password/ssh keys inside the CT) is not simulated
      conf.hostname ||= `CT${vmid}`;
      conf.memory ||= 512;
      conf.swap ??= 512;
      writeConfig(vmid, conf);
    } catch (e) {
      destroyDisks(cfg, vollist);
      if (destroyConfigOnError) {
        try {
          destroyConfig(vmid);
        } catch (e2) {
          warn(errText(e2));
        }
      }
      throw die(`${emsg} ${errText(e)}`);
    }
  };

  return forkWorker(async () => {
    try {
      await lockConfig(vmid, code);
    } catch (e) {
      if (!destroyConfigOnError) await removeLock(vmid, "create");
      throw e;
    }
    if (startAfterCreate) await vmStartApi({ vmid, node });
    if (haManaged) {
      print("Add as HA resource\n");
      warn(`command 'ha-manager add ct:${vmid} --state ${startAfterCreate ? "started" : "stopped"}' failed: HA is not simulated`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// start / stop / shutdown / destroy

/** PVE::LXC::vm_start */
async function vmStart(vmid, conf) {
  const cfg = readStorageCfg();
  if (conf.pending && Object.keys(conf.pending).length) {
    applyPending(vmid, conf, cfg, undefined, new Map());
    delete conf.pending;
    writeConfig(vmid, conf);
    conf = loadConfig(vmid);
  }
  for (const k of Object.keys(conf)) if (/^dev\d+$/.test(k)) throw die(`${k}: device passthrough is not supported by the simulator`);
  const rootfs = updateLxcConfig(vmid, conf, cfg);
  const { map, rootUid, rootGid } = parseIdMaps(conf);
  if (map.length) {
    const blocked = untraversable(rootfs, rootUid, rootGid) ?? untraversable(join(ctDir(vmid), "rootfs"), rootUid, rootGid);
    if (blocked) {
      warn(`simulator: '${blocked}' is not searchable by the container's root user (uid ${rootUid}); chmod o+x it`);
      throw die(`startup for container '${vmid}' failed`);
    }
  }
  lxcStart(vmid);
}

/** API2::LXC::Status vm_start */
export async function vmStartApi(param) {
  const vmid = Number(param.vmid);
  const skiplock = !!param.skiplock;
  if (checkRunning(vmid)) throw die(`CT ${vmid} already running`);
  return forkWorker(() =>
    lockConfig(vmid, async () => {
      const conf = loadConfig(vmid);
      if (conf.template) throw die("you can't start a CT if it's a template");
      if (!skiplock && conf.lock !== "mounted") checkLock(conf);
      if (conf.unprivileged)
        for (const key of volumeKeys(conf))
          if (parseVolume(key, conf[key]).quota === "1") throw die("Quotas are not supported by unprivileged containers.");
      await vmStart(vmid, conf);
    }),
  );
}

export async function vmStopApi(param) {
  const vmid = Number(param.vmid);
  const skiplock = !!param.skiplock;
  if (!checkRunning(vmid)) throw die(`CT ${vmid} not running`);
  return forkWorker(() =>
    lockConfig(vmid, async () => {
      const conf = loadConfig(vmid);
      if (!skiplock && conf.lock !== "mounted") checkLock(conf);
      await vmStop(vmid, true);
    }),
  );
}

export async function vmShutdownApi(param) {
  const vmid = Number(param.vmid);
  const timeout = param.timeout !== undefined ? Number(param.timeout) : 60;
  if (!checkRunning(vmid)) throw die(`CT ${vmid} not running`);
  return forkWorker(() =>
    lockConfig(vmid, async () => {
      const conf = loadConfig(vmid);
      checkLock(conf);
      await vmStop(vmid, false, timeout, !!param.forceStop);
    }),
  );
}

/** API2::LXC destroy_vm */
export async function destroyVm(param) {
  const vmid = Number(param.vmid);
  let conf = loadConfig(vmid);
  const earlyChecks = (c) => {
    checkProtection(c, `can't remove CT ${vmid}`);
    checkLock(c);
  };
  earlyChecks(conf);
  const runningMsg = `unable to destroy CT ${vmid} - container is running`;
  if (!param.force && checkRunning(vmid)) throw die(runningMsg);
  return forkWorker(() =>
    lockConfig(vmid, async () => {
      conf = loadConfig(vmid);
      earlyChecks(conf);
      if (checkRunning(vmid)) {
        if (!param.force) throw die(runningMsg);
        warn(`forced to stop CT ${vmid} before destroying!`);
        await vmStop(vmid, true);
      }
      const cfg = readStorageCfg();
      // destroy_lxc_container
      const seen = new Set();
      for (const c of [conf, conf.pending ?? {}])
        for (const key of volumeKeys(c, true)) {
          const mp = parseVolume(key, c[key]);
          if (mp.type !== "volume" || seen.has(mp.volume)) continue;
          seen.add(mp.volume);
          const parsed = parseVolumeId(mp.volume, true);
          if (!parsed) continue;
          const m = /^(?:vm|base|subvol)-(\d+)-/.exec(parsed[1].replace(/^\d+\//, ""));
          if (m && Number(m[1]) !== vmid) continue; // volumes of other guests are only unreferenced
          freeVolume(cfg, mp.volume);
        }
      // PVE rmdirs rootfs and unlinks config; also drop what the simulator put there
      rmSync(ctDir(vmid), { recursive: true, force: true });
      removeStaleCgroups(vmid);
      try {
        unlinkSync(join(RUN_PVE, `ct-${vmid}.stderr`));
      } catch {
        /* none */
      }
      writeConfig(vmid, { lock: "destroyed" });
      if (param.purge) print(`purging CT ${vmid} from related configurations..\n`);
      destroyConfig(vmid); // last, else we can have reuse race
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// config

/** API2::LXC::Config update_vm */
export async function updateVm(param) {
  param = { ...param };
  const vmid = Number(param.vmid);
  delete param.vmid;
  delete param.node;
  const digest = param.digest;
  delete param.digest;
  if (!Object.keys(param).length) throw die("no options specified");
  const del = splitList(param.delete ?? "");
  delete param.delete;
  const revert = splitList(param.revert ?? "");
  delete param.revert;
  if (param.cpuunits !== undefined) param.cpuunits = clampCpuShares(param.cpuunits);

  await lockConfig(vmid, async () => {
    let conf = loadConfig(vmid);
    checkLock(conf);
    if (digest && conf.digest && digest !== conf.digest)
      throw die("detected modified configuration - file changed by other user? Try again.");
    for (const opt of revert) {
      if (!confdesc[opt]) throw paramError({ revert: `unknown option '${opt}'` });
      if (param[opt] !== undefined) throw paramError({ revert: `you can't use '-${opt}' and '-revert ${opt}' at the same time` });
    }
    for (const opt of del) {
      if (!confdesc[opt]) throw paramError({ delete: `unknown option '${opt}'` });
      if (param[opt] !== undefined) throw paramError({ delete: `you can't use '-${opt}' and -delete ${opt}' at the same time` });
      if (revert.includes(opt)) throw paramError({ delete: `you can't use '-delete ${opt}' and '-revert ${opt}' at the same time` });
    }
    const running = checkRunning(vmid);
    const errors = updatePctConfig(vmid, conf, running, param, del, revert);
    if (errors.size) throw paramError(errors);
    writeConfig(vmid, conf);
    conf = loadConfig(vmid);
    try {
      updateLxcConfig(vmid, conf, readStorageCfg());
    } catch {
      /* regenerated at the next start anyway */
    }
  });
  return null;
}

