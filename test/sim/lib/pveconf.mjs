// @ts-check
// The CT config format of pve-container (PVE::LXC::Config parse_pct_config / write_pct_config),
// the option schema ($confdesc) and the config-level helpers of PVE::AbstractConfig.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { die, warn } from "./io.mjs";
import { ETC_PVE, LOCK_DIR, cfsConfigPath, confPath, vmlist, writeFileAtomic } from "./env.mjs";
import { lockFileFull } from "./lock.mjs";
import { checkFormat, parsePropertyString, parseSize, printPropertyString } from "./schema.mjs";

/** @typedef {import("./schema.mjs").Prop} Prop */
/** @typedef {Record<string, any> & {lxc?: [string,string][], pending?: Record<string,any>, snapshots?: Record<string,any>}} PctConf */

const bool = () => /** @type {Prop} */ ({ type: "boolean", optional: true });
const MOUNT_OPT = "(discard|lazytime|noatime|nodev|noexec|nosuid)";

/** @type {Record<string, Prop>} */
export const rootfsDesc = {
  volume: { type: "string", default_key: true, format: "pve-lxc-mp-string" },
  size: { type: "string", format: "disk-size", optional: true },
  acl: bool(),
  mountoptions: { type: "string", optional: true, pattern: `${MOUNT_OPT}(;${MOUNT_OPT})*` },
  idmap: {
    type: "string",
    optional: true,
    pattern: "(?:passthrough|[ug]:[0-9]+:[0-9]+:[1-9][0-9]*(?:;[ug]:[0-9]+:[0-9]+:[1-9][0-9]*)*)",
  },
  ro: bool(),
  quota: bool(),
  replicate: bool(),
  shared: bool(),
};

/** @type {Record<string, Prop>} */
export const mpDesc = {
  ...rootfsDesc,
  backup: bool(),
  mp: { type: "string", format: "pve-lxc-mp-string" },
  keepattrs: bool(),
};

/** @type {Record<string, Prop>} */
const unusedDesc = { volume: { type: "string", default_key: true, format: "pve-volume-id" } };

/** @type {Record<string, Prop>} */
export const featuresDesc = {
  mount: { type: "string", optional: true, pattern: "[a-zA-Z0-9_; ]+" },
  nesting: bool(),
  keyctl: bool(),
  fuse: bool(),
  mknod: bool(),
  force_rw_sys: bool(),
};

/** @type {Record<string, Prop>} */
export const netDesc = {
  type: { type: "string", optional: true, enum: ["veth"] },
  name: { type: "string", pattern: "[-_.\\w\\d]+" },
  bridge: { type: "string", optional: true, pattern: "[-_.\\w\\d]+" },
  hwaddr: { type: "string", optional: true, format: "mac-addr" },
  mtu: { type: "integer", optional: true, minimum: 64, maximum: 65535 },
  ip: { type: "string", optional: true, format: "pve-ipv4-config" },
  gw: { type: "string", optional: true, format: "ipv4" },
  ip6: { type: "string", optional: true, format: "pve-ipv6-config" },
  gw6: { type: "string", optional: true, format: "ipv6" },
  firewall: bool(),
  tag: { type: "integer", optional: true, minimum: 1, maximum: 4094 },
  trunks: { type: "string", optional: true, pattern: "\\d+(?:;\\d+)*" },
  rate: { type: "number", optional: true },
  link_down: bool(),
  "host-managed": bool(),
};

/** @type {Record<string, Prop>} */
const devDesc = {
  path: { type: "string", optional: true, default_key: true, pattern: "/dev/.+" },
  mode: { type: "string", optional: true, pattern: "0[0-7]{3}" },
  uid: { type: "integer", optional: true, minimum: 0 },
  gid: { type: "integer", optional: true, minimum: 0 },
  "deny-write": bool(),
};

/** pve-container $confdesc (json_config_properties: without parent/snaptime) */
/** @type {Record<string, Prop>} */
export const confdesc = {
  lock: {
    type: "string",
    optional: true,
    enum: ["backup", "create", "destroyed", "disk", "fstrim", "migrate", "mounted", "rollback", "snapshot", "snapshot-delete"],
  },
  onboot: bool(),
  startup: { type: "string", optional: true, format: "pve-startup-order" },
  template: bool(),
  arch: { type: "string", optional: true, enum: ["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"] },
  ostype: {
    type: "string",
    optional: true,
    enum: ["debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos", "unmanaged"],
  },
  console: bool(),
  tty: { type: "integer", optional: true, minimum: 0, maximum: 6 },
  cores: { type: "integer", optional: true, minimum: 1, maximum: 8192 },
  cpulimit: { type: "number", optional: true, minimum: 0, maximum: 8192 },
  cpuunits: { type: "integer", optional: true, minimum: 0, maximum: 500000 },
  memory: { type: "integer", optional: true, minimum: 16 },
  swap: { type: "integer", optional: true, minimum: 0 },
  hostname: { type: "string", optional: true, format: "dns-name", maxLength: 255 },
  description: { type: "string", optional: true, maxLength: 8192 },
  searchdomain: { type: "string", optional: true, format: "dns-name-list" },
  nameserver: { type: "string", optional: true, format: "lxc-ip-with-ll-iface-list" },
  timezone: { type: "string", optional: true, format: "pve-ct-timezone" },
  rootfs: { type: "string", optional: true, format: rootfsDesc },
  cmode: { type: "string", optional: true, enum: ["shell", "console", "tty"] },
  entrypoint: { type: "string", optional: true, pattern: "[^\\x00-\\x08\\x0a-\\x1F\\x7F]+" },
  protection: bool(),
  unprivileged: bool(),
  features: { type: "string", optional: true, format: featuresDesc },
  env: {
    type: "string",
    optional: true,
    pattern: "(?:\\w+=[^\\x00-\\x08\\x0a-\\x1F\\x7F]*)(?:\\x00\\w+=[^\\x00-\\x08\\x0a-\\x1F\\x7F]*)*",
  },
  hookscript: { type: "string", optional: true, format: "pve-volume-id" },
  tags: { type: "string", optional: true, format: "pve-tag-list" },
  debug: bool(),
};
for (let i = 0; i < 32; i++) confdesc[`net${i}`] = { type: "string", optional: true, format: netDesc };
for (let i = 0; i < 256; i++) {
  confdesc[`mp${i}`] = { type: "string", optional: true, format: mpDesc };
  confdesc[`unused${i}`] = { type: "string", optional: true, format: unusedDesc };
  confdesc[`dev${i}`] = { type: "string", optional: true, format: devDesc };
}

// ---------------------------------------------------------------------------------------------
// encode_text / decode_text (PVE::ParseUtils): control chars, hi-bit bytes, ':' and '%' escaped

export function encodeText(text) {
  let out = "";
  for (const b of Buffer.from(text, "utf8")) {
    const safe = (b >= 0x20 && b <= 0x24) || (b >= 0x26 && b <= 0x39) || (b >= 0x3b && b <= 0x7e);
    out += safe ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function decodeText(data) {
  const bytes = [];
  for (let i = 0; i < data.length; i++) {
    const m = /^%([0-9A-Fa-f]{2})/.exec(data.slice(i, i + 3));
    if (m) {
      bytes.push(parseInt(/** @type {string} */ (m[1]), 16));
      i += 2;
    } else bytes.push(...Buffer.from(/** @type {string} */ (data[i]), "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

// ---------------------------------------------------------------------------------------------
// raw lxc.* keys

const VALID_LXC_KEYS = new Set(
  `apparmor.profile apparmor.allow_incomplete apparmor.allow_nesting apparmor.raw selinux.context include arch
  uts.name signal.halt signal.reboot signal.stop init.cmd init.cwd init.uid init.gid init.groups pty.max
  console.logfile console.path tty.max devtty.dir hook.autodev autodev kmsg mount.fstab mount.entry mount.auto
  rootfs.mount cap.drop cap.keep seccomp.profile seccomp.notify.proxy seccomp.notify.cookie idmap hook.pre-start
  hook.pre-mount hook.mount hook.start hook.stop hook.post-stop hook.clone hook.destroy hook.version log.level
  log.file start.auto start.delay start.order group environment environment.runtime environment.hooks
  sysctl.fs.mqueue sysctl.kernel.msgmax sysctl.kernel.msgmnb sysctl.kernel.msgmni sysctl.kernel.sem
  sysctl.kernel.shmall sysctl.kernel.shmmax sysctl.kernel.shmmni sysctl.kernel.shm_rmid_forced`
    .split(/\s+/)
    .map((k) => `lxc.${k}`),
);
const INVALID_LXC_KEYS = {
  "lxc.rootfs.path": "lxc.rootfs.path is auto generated from rootfs",
  "lxc.rootfs.options": 'lxc.rootfs.options is not supported, please use mount point options in the "rootfs" key',
};
const DEPRECATED_LXC_KEYS = {
  "lxc.aa_profile": "lxc.apparmor.profile",
  "lxc.aa_allow_incomplete": "lxc.apparmor.allow_incomplete",
  "lxc.console": "lxc.console.path",
  "lxc.devttydir": "lxc.tty.dir",
  "lxc.haltsignal": "lxc.signal.halt",
  "lxc.rebootsignal": "lxc.signal.reboot",
  "lxc.stopsignal": "lxc.signal.stop",
  "lxc.id_map": "lxc.idmap",
  "lxc.init_cmd": "lxc.init.cmd",
  "lxc.loglevel": "lxc.log.level",
  "lxc.logfile": "lxc.log.file",
  "lxc.mount": "lxc.mount.fstab",
  "lxc.pts": "lxc.pty.max",
  "lxc.se_context": "lxc.selinux.context",
  "lxc.seccomp": "lxc.seccomp.profile",
  "lxc.tty": "lxc.tty.max",
  "lxc.utsname": "lxc.uts.name",
};

/** @returns {true|string|false} */
function isValidLxcConfKey(vmid, key) {
  if (/^lxc\.limit\./.test(key)) {
    warn(`vm ${vmid} - ${key}: lxc.limit.* was renamed to lxc.prlimit.*`);
    return true;
  }
  const renamed = DEPRECATED_LXC_KEYS[/** @type {keyof typeof DEPRECATED_LXC_KEYS} */ (key)];
  if (renamed || key.startsWith("lxc.network.")) {
    warn(`vm ${vmid} - ${key} is deprecated and was renamed to ${renamed ?? key.replace("lxc.network.", "lxc.net.INDEX.")}`);
    return true;
  }
  if (VALID_LXC_KEYS.has(key)) return true;
  const invalid = INVALID_LXC_KEYS[/** @type {keyof typeof INVALID_LXC_KEYS} */ (key)];
  if (invalid) return invalid;
  if (/^lxc\.cgroup\./.test(key)) {
    warn(`vm ${vmid} - ${key} is deprecated, this will be a hard error in the future!`);
    return true;
  }
  return /^lxc\.(cgroup2|prlimit|net)\./.test(key);
}

/** PVE::LXC::Config::check_type (values read from the file) */
function checkType(key, value) {
  const pd = confdesc[key];
  if (!pd) throw new Error(`unknown setting '${key}'\n`);
  if (/[\n\r]/.test(value)) throw new Error("property contains a line feed\n");
  switch (pd.type) {
    case "boolean":
      if (value === "1" || /^(on|yes|true)$/i.test(value)) return 1;
      if (value === "0" || /^(off|no|false)$/i.test(value)) return 0;
      throw new Error(`type check ('boolean') failed - got '${value}'\n`);
    case "integer":
      if (/^\d+$/.test(value)) return Number(value);
      throw new Error(`type check ('integer') failed - got '${value}'\n`);
    case "number":
      if (/^\d+(\.\d+)?$/.test(value)) return value;
      throw new Error(`type check ('number') failed - got '${value}'\n`);
    default:
      if (pd.format) checkFormat(pd.format, value, key);
      return value;
  }
}

/**
 * parse_pct_config (non-strict: problems are warnings)
 * @param {number|string} vmid
 * @param {string} raw
 * @returns {PctConf}
 */
export function parsePctConfig(vmid, raw) {
  /** @type {PctConf} */
  const res = { digest: createHash("sha1").update(raw, "utf8").digest("hex"), snapshots: {}, pending: {} };
  /** @type {PctConf} */
  let conf = res;
  let descr = "";
  let section = "";
  const lines = raw.split("\n");
  for (const line of lines) {
    if (/^\s*$/.test(line)) continue;
    let m;
    if (/^\[pve:pending\]\s*$/i.test(line)) {
      section = "pending";
      if (descr) conf.description = descr;
      descr = "";
      conf = res.pending = /** @type {PctConf} */ ({});
      continue;
    }
    if ((m = /^\[([a-z][a-z0-9_-]+)\]\s*$/i.exec(line))) {
      section = /** @type {string} */ (m[1]);
      if (descr) conf.description = descr;
      descr = "";
      conf = /** @type {Record<string,any>} */ (res.snapshots)[section] = {};
      continue;
    }
    if ((m = /^#(.*)$/.exec(line))) {
      descr += `${decodeText(/** @type {string} */ (m[1]))}\n`;
      continue;
    }
    if ((m = /^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$/.exec(line))) {
      const key = /** @type {string} */ (m[1]);
      const value = /** @type {string} */ (m[3]);
      const validity = isValidLxcConfKey(vmid, key);
      if (key === "lxc.environment.runtime") conf.env = conf.env === undefined ? value : `${conf.env}\0${value}`;
      else if (validity === true) (conf.lxc ??= []).push([key, value]);
      else if (typeof validity === "string") warn(`vm ${vmid} - ${key}: ${validity}`);
      else warn(`vm ${vmid} - unable to parse config: ${line}`);
    } else if ((m = /^(description):\s*(.*\S)\s*$/.exec(line))) {
      descr += decodeText(/** @type {string} */ (m[2]));
    } else if ((m = /snapstate:\s*(prepare|delete)\s*$/.exec(line))) {
      conf.snapstate = m[1];
    } else if ((m = /^delete:\s*(.*\S)\s*$/.exec(line))) {
      if (section === "pending") conf.delete = m[1];
      else warn(`vm ${vmid} - property 'delete' is only allowed in [pve:pending]`);
    } else if ((m = /^([a-z][a-z_]*\d*):\s*(.+?)\s*$/.exec(line))) {
      const key = /** @type {string} */ (m[1]);
      let value = /** @type {any} */ (m[2]);
      try {
        value = checkType(key, value);
      } catch (e) {
        warn(`vm ${vmid} - unable to parse value of '${key}' - ${/** @type {Error} */ (e).message}`);
      }
      conf[key] = value;
    } else {
      warn(`vm ${vmid} - unable to parse config: ${line}`);
    }
  }
  if (descr) conf.description = descr;
  delete res.snapstate;
  return res;
}

const NOT_WRITTEN = new Set(["digest", "description", "pending", "snapshots", "snapname", "env", "lxc"]);

/** @param {PctConf} conf */
function generateRawConfig(conf) {
  let raw = "";
  const descr = String(conf.description ?? "").replace(/\n+$/, "");
  if (descr) for (const cl of descr.split("\n")) raw += `#${encodeText(cl)}\n`;
  for (const key of Object.keys(conf).sort()) {
    if (NOT_WRITTEN.has(key) || conf[key] === undefined) continue;
    const value = String(conf[key]);
    if (value.includes("\n")) throw die(`detected invalid newline inside property '${key}'`);
    raw += `${key}: ${value}\n`;
  }
  if (conf.env) for (const v of String(conf.env).split(/\0+/)) raw += `lxc.environment.runtime: ${v}\n`;
  for (const [k, v] of conf.lxc ?? []) if (k !== "lxc.environment.runtime") raw += `${k}: ${v}\n`;
  return raw;
}

/** write_pct_config */
export function writePctConfig(conf) {
  let raw = generateRawConfig(conf);
  if (conf.pending && Object.keys(conf.pending).length) raw += `\n[pve:pending]\n${generateRawConfig(conf.pending)}`;
  for (const name of Object.keys(conf.snapshots ?? {}).sort()) raw += `\n[${name}]\n${generateRawConfig(conf.snapshots[name])}`;
  return raw;
}

// ---------------------------------------------------------------------------------------------
// AbstractConfig

/** @returns {PctConf|undefined} */
export function readConfig(vmid) {
  const p = confPath(vmid);
  let raw;
  try {
    raw = readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
  return parsePctConfig(vmid, raw);
}

/** load_config: "Configuration file 'nodes/<node>/lxc/<vmid>.conf' does not exist" (errno ENOENT -> exit 2) */
export function loadConfig(vmid) {
  const conf = readConfig(vmid);
  if (!conf) throw die(`Configuration file '${cfsConfigPath(vmid)}' does not exist`, 2);
  return conf;
}

export function writeConfig(vmid, conf) {
  writeFileAtomic(confPath(vmid), writePctConfig(conf));
}

export function destroyConfig(vmid) {
  try {
    unlinkSync(confPath(vmid));
  } catch (e) {
    throw die(`failed to remove config file: ${/** @type {Error} */ (e).message}`);
  }
}

export function configExists(vmid) {
  return existsSync(confPath(vmid));
}

export function lockFilePath(vmid) {
  return join(LOCK_DIR, `pve-config-${vmid}.lock`);
}

/**
 * @template T
 * @param {number|string} vmid
 * @param {() => Promise<T>} code
 * @param {number} [timeout]
 */
export function lockConfig(vmid, code, timeout = 10) {
  return lockFileFull(lockFilePath(vmid), timeout, code);
}

export function checkLock(conf) {
  if (conf.lock) throw die(`CT is locked (${conf.lock})`);
}

export function checkProtection(conf, msg) {
  if (conf.protection) throw die(`${msg} - protection mode enabled`);
}

/** PVE::Cluster::check_vmid_unused */
export function checkVmidUnused(vmid, noerr = false) {
  const d = vmlist().get(Number(vmid));
  if (!d) return true;
  if (noerr) return false;
  throw die(`${d.type === "qemu" ? "VM" : "CT"} ${vmid} already exists on node '${d.node}'`);
}

export async function createAndLockConfig(vmid, allowExisting, lock = "create") {
  await lockConfig(
    vmid,
    async () => {
      checkVmidUnused(vmid, allowExisting);
      const conf = readConfig(vmid) ?? {};
      checkLock(conf);
      conf.lock = lock;
      writeConfig(vmid, conf);
    },
    5,
  );
}

export async function removeLock(vmid, lock) {
  await lockConfig(vmid, async () => {
    const conf = loadConfig(vmid);
    if (!conf.lock) throw die(`no lock found trying to remove ${lock !== undefined ? `'${lock}' ` : "any"} lock`);
    if (lock !== undefined && conf.lock !== lock) throw die(`found lock '${conf.lock}' trying to remove '${lock}' lock`);
    delete conf.lock;
    writeConfig(vmid, conf);
  });
}

// pending changes ----------------------------------------------------------------------------

export function parsePendingDelete(data) {
  /** @type {Map<string, {force: boolean}>} */
  const res = new Map();
  if (!data) return res;
  for (const entry of String(data).replace(/[,;]/g, " ").trim().split(/\s+/)) {
    const m = /^(!?)(.*)$/.exec(entry);
    res.set(/** @type {string} */ (m?.[2]), { force: !!m?.[1] });
  }
  return res;
}

function printPendingDelete(hash) {
  return [...hash.keys()]
    .sort()
    .map((k) => (hash.get(k).force ? `!${k}` : k))
    .join(",");
}

export function addToPendingDelete(conf, key) {
  conf.pending ??= {};
  const h = parsePendingDelete(conf.pending.delete);
  h.set(key, { force: false });
  conf.pending.delete = printPendingDelete(h);
}

export function removeFromPendingDelete(conf, key) {
  if (!conf.pending) return;
  const h = parsePendingDelete(conf.pending.delete);
  if (!h.delete(key)) return;
  if (h.size) conf.pending.delete = printPendingDelete(h);
  else delete conf.pending.delete;
}

export function cleanupPending(conf) {
  const pending = (conf.pending ??= {});
  for (const opt of Object.keys(pending)) {
    if (opt === "delete") continue;
    if (conf[opt] !== undefined && String(pending[opt]) === String(conf[opt])) delete pending[opt];
  }
  const h = parsePendingDelete(pending.delete);
  for (const opt of [...h.keys()]) if (conf[opt] === undefined) h.delete(opt);
  if (h.size) pending.delete = printPendingDelete(h);
  else delete pending.delete;
}

/** load_current_config: pending values override unless $current */
export function loadCurrentConfig(vmid, current) {
  const conf = loadConfig(vmid);
  if (!current) {
    for (const [opt, value] of Object.entries(conf.pending ?? {})) if (opt !== "delete") conf[opt] = value;
    for (const opt of parsePendingDelete(conf.pending?.delete).keys()) delete conf[opt];
  }
  delete conf.snapshots;
  delete conf.pending;
  return conf;
}

// property-string helpers --------------------------------------------------------------------

export function macPrefix() {
  try {
    const dc = readFileSync(join(ETC_PVE, "datacenter.cfg"), "utf8");
    const m = /^mac_prefix:\s*(\S+)\s*$/m.exec(dc);
    if (m) return /** @type {string} */ (m[1]);
  } catch {
    /* no datacenter.cfg */
  }
  return "BC:24:11"; // the Proxmox OUI, PVE's default
}

/** PVE::Tools::random_ether_addr */
export function randomEtherAddr(prefix) {
  const b = randomBytes(6);
  b[0] = ((b[0] ?? 0) & 0xfe) | 2;
  const addr = [...b].map((x) => x.toString(16).toUpperCase().padStart(2, "0")).join(":");
  return prefix ? prefix.toUpperCase() + addr.slice(prefix.length) : addr;
}

/** parse_lxc_network: adds type=veth and a hwaddr */
export function parseNet(value) {
  /** @type {Record<string,string>} */
  const net = parsePropertyString(netDesc, value);
  net.type = "veth";
  if (!net.hwaddr) net.hwaddr = randomEtherAddr(macPrefix());
  return net;
}

export function printNet(net) {
  return printPropertyString(net, netDesc);
}

export function classifyMountpoint(vol) {
  if (vol.startsWith("/")) return vol.startsWith("/dev/") ? "device" : "bind";
  return "volume";
}

/** parse_volume('rootfs'|'mpN'|'unusedN', ...) */
export function parseVolume(key, value) {
  const desc = key === "rootfs" ? rootfsDesc : /^mp\d+$/.test(key) ? mpDesc : unusedDesc;
  /** @type {Record<string,any>} */
  const res = parsePropertyString(desc, value, key);
  if (key === "rootfs") res.mp = "/";
  res.type = classifyMountpoint(res.volume);
  if (res.size !== undefined) res.size = parseSize(res.size);
  return res;
}

export function printMountpoint(info, nomp) {
  return printPropertyString(info, mpDesc, nomp ? ["type", "mp"] : ["type"]);
}

export function parseFeatures(value) {
  return value ? parsePropertyString(featuresDesc, value) : {};
}

/** foreach_volume: rootfs first, then mpN in numeric order */
export function volumeKeys(conf, includeUnused = false) {
  const keys = Object.keys(conf).filter((k) => /^mp\d+$/.test(k) || (includeUnused && /^unused\d+$/.test(k)));
  keys.sort((a, b) => Number(a.replace(/\D/g, "")) - Number(b.replace(/\D/g, "")) || a.localeCompare(b));
  return conf.rootfs !== undefined ? ["rootfs", ...keys] : keys;
}
