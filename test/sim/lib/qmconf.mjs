// @ts-check
// The VM config format of qemu-server (PVE::QemuServer parse_vm_config / write_vm_config), the part
// of its option schema ($confdesc) the simulator handles, and PVE::QemuConfig's lock helpers.
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { die } from "./io.mjs";
import { ETC_PVE, NODE, ROOT, lxcConfDir, vmlist, writeFileAtomic } from "./env.mjs";
import { lockFileFull } from "./lock.mjs";
import { decodeText, encodeText, macPrefix, randomEtherAddr } from "./pveconf.mjs";
import { parsePropertyString, parseSize, printPropertyString } from "./schema.mjs";

/** @typedef {import("./schema.mjs").Prop} Prop */
/** @typedef {Record<string, any>} VmConf */

const bool = () => /** @type {Prop} */ ({ type: "boolean", optional: true });
const NIC_MODELS = ["e1000", "e1000e", "i82551", "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3"];

/** net[n]: `<model>[=<mac>],bridge=...` (the model key carries the MAC) */
/** @type {Record<string, Prop>} */
export const netDesc = {
  model: { type: "string", enum: NIC_MODELS, default_key: true },
  macaddr: { type: "string", optional: true, format: "mac-addr" },
  bridge: { type: "string", optional: true, pattern: "[-_.\\w\\d]+" },
  firewall: bool(),
  link_down: bool(),
  mtu: { type: "integer", optional: true, minimum: 1, maximum: 65520 },
  queues: { type: "integer", optional: true, minimum: 0, maximum: 64 },
  rate: { type: "number", optional: true, minimum: 0 },
  tag: { type: "integer", optional: true, minimum: 1, maximum: 4094 },
  trunks: { type: "string", optional: true, pattern: "\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*" },
};

/** A drive: `[file=]<volume>[,media=...][,import-from=...][,size=...]...` */
/** @type {Record<string, Prop>} */
export const driveDesc = {
  file: { type: "string", default_key: true },
  media: { type: "string", optional: true, enum: ["cdrom", "disk"] },
  "import-from": { type: "string", optional: true },
  size: { type: "string", optional: true, format: "disk-size" },
  format: { type: "string", optional: true, enum: ["raw", "qcow2", "vmdk", "cloop", "cow", "qcow", "qed", "vpc"] },
  cache: { type: "string", optional: true, enum: ["none", "writethrough", "writeback", "unsafe", "directsync"] },
  discard: { type: "string", optional: true, enum: ["ignore", "on"] },
  iothread: bool(),
  ssd: bool(),
  backup: bool(),
  replicate: bool(),
  ro: bool(),
  serial: { type: "string", optional: true, maxLength: 60, pattern: "[-%a-zA-Z0-9_.]+" },
};

/** @type {Record<string, Prop>} */
const ipconfigDesc = {
  ip: { type: "string", optional: true, format: "pve-ipv4-config" },
  gw: { type: "string", optional: true, format: "ipv4" },
  ip6: { type: "string", optional: true, format: "pve-ipv6-config" },
  gw6: { type: "string", optional: true, format: "ipv6" },
};

/** @type {Record<string, Prop>} */
export const cicustomDesc = {
  meta: { type: "string", optional: true, format: "pve-volume-id" },
  network: { type: "string", optional: true, format: "pve-volume-id" },
  user: { type: "string", optional: true, format: "pve-volume-id" },
  vendor: { type: "string", optional: true, format: "pve-volume-id" },
};

/** @type {Record<string, Prop>} */
const agentDesc = {
  enabled: { type: "boolean", default_key: true },
  "freeze-fs-on-backup": bool(),
  fstrim_cloned_disks: bool(),
  type: { type: "string", optional: true, enum: ["virtio", "isa"] },
};

/** qemu-server $confdesc (the options the simulator knows) */
/** @type {Record<string, Prop>} */
export const confdesc = {
  lock: {
    type: "string",
    optional: true,
    enum: ["backup", "clone", "create", "migrate", "rollback", "snapshot", "snapshot-delete", "suspending", "suspended"],
  },
  name: { type: "string", optional: true, format: "dns-name" },
  description: { type: "string", optional: true, maxLength: 8192 },
  memory: { type: "string", optional: true, format: { current: { type: "integer", default_key: true, minimum: 16, maximum: 8388608 } } },
  balloon: { type: "integer", optional: true, minimum: 0 },
  cores: { type: "integer", optional: true, minimum: 1 },
  sockets: { type: "integer", optional: true, minimum: 1 },
  cpu: { type: "string", optional: true },
  cpulimit: { type: "number", optional: true, minimum: 0, maximum: 128 },
  cpuunits: { type: "integer", optional: true, minimum: 1, maximum: 262144 },
  ostype: { type: "string", optional: true, enum: ["other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris"] },
  scsihw: { type: "string", optional: true, enum: ["lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"] },
  boot: { type: "string", optional: true, pattern: "order=[a-z0-9;]+" },
  vga: { type: "string", optional: true, pattern: "(std|cirrus|vmware|qxl|serial[0-3]|virtio|none)(,.*)?" },
  agent: { type: "string", optional: true, format: agentDesc },
  acpi: bool(),
  onboot: bool(),
  protection: bool(),
  template: bool(),
  tags: { type: "string", optional: true, format: "pve-tag-list" },
  ciuser: { type: "string", optional: true },
  cipassword: { type: "string", optional: true },
  citype: { type: "string", optional: true, enum: ["configdrive2", "nocloud", "opennebula"] },
  ciupgrade: bool(),
  cicustom: { type: "string", optional: true, format: cicustomDesc },
  nameserver: { type: "string", optional: true },
  searchdomain: { type: "string", optional: true },
  meta: { type: "string", optional: true },
  smbios1: { type: "string", optional: true },
  vmgenid: { type: "string", optional: true },
  startup: { type: "string", optional: true, format: "pve-startup-order" },
};
for (let i = 0; i < 32; i++) {
  confdesc[`net${i}`] = { type: "string", optional: true, format: netDesc };
  confdesc[`ipconfig${i}`] = { type: "string", optional: true, format: ipconfigDesc };
}
for (let i = 0; i < 4; i++) confdesc[`serial${i}`] = { type: "string", optional: true, pattern: "(/dev/.+|socket)" };
/** @type {[string, number][]} */
const BUSES = [["ide", 4], ["sata", 6], ["scsi", 31], ["virtio", 16]];
for (const [bus, n] of BUSES) for (let i = 0; i < n; i++) confdesc[`${bus}${i}`] = { type: "string", optional: true, format: driveDesc };
for (let i = 0; i < 256; i++) confdesc[`unused${i}`] = { type: "string", optional: true };

export const isDriveKey = (k) => /^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5]))$/.test(k);

/** @returns {Record<string,string>} */
export function parseDrive(value) {
  return parsePropertyString(driveDesc, value);
}

export function printDrive(drive) {
  return printPropertyString({ ...drive, size: drive.size === undefined ? undefined : parseSize(drive.size) }, driveDesc);
}

export const isCdrom = (drive) => drive.media === "cdrom";
export const isCloudinit = (drive) => /(^|[:/])vm-\d+-cloudinit(\.\w+)?$/.test(drive.file ?? "");

/** parse_net: `<model>[=<mac>]` first; a missing MAC gets a random one (add_random_macs) */
export function parseNet(value) {
  const parts = value.split(",");
  const m = /^([a-z0-9_]+)(?:=([0-9a-fA-F:]+))?$/.exec(/** @type {string} */ (parts[0]));
  const head = m && NIC_MODELS.includes(/** @type {string} */ (m[1])) ? [`model=${m[1]}`, ...(m[2] ? [`macaddr=${m[2].toUpperCase()}`] : [])] : [/** @type {string} */ (parts[0])];
  /** @type {Record<string,string>} */
  const res = parsePropertyString(netDesc, [...head, ...parts.slice(1)].join(","));
  if (!res.macaddr) res.macaddr = randomEtherAddr(macPrefix());
  return res;
}

export function printNet(net) {
  const { model, macaddr, ...rest } = net;
  const tail = printPropertyString(rest, netDesc, ["model", "macaddr"]);
  return `${model}=${macaddr}${tail ? `,${tail}` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// files

export function qemuConfDir() {
  lxcConfDir(); // lays out nodes/<node>/{lxc,qemu-server} and the etc/pve symlinks
  return join(ETC_PVE, "qemu-server");
}

export function qmConfPath(vmid) {
  return join(qemuConfDir(), `${vmid}.conf`);
}

export function cfsQmConfigPath(vmid, node = NODE) {
  return `nodes/${node}/qemu-server/${vmid}.conf`;
}

/** parse_vm_config: description `#` lines, `key: value` lines, then sections we keep verbatim */
export function parseVmConfig(raw) {
  /** @type {VmConf} */
  const conf = {};
  const desc = [];
  const lines = raw.split("\n");
  let i = 0;
  for (; i < lines.length; i++) {
    const line = /** @type {string} */ (lines[i]);
    if (/^\[/.test(line)) break;
    if (/^#/.test(line)) {
      desc.push(decodeText(line.slice(1)));
      continue;
    }
    const m = /^([a-z][a-z_-]*\d*):\s*(.+?)\s*$/.exec(line);
    if (m) conf[/** @type {string} */ (m[1])] = m[2];
  }
  if (desc.length) conf.description = desc.join("\n");
  const rest = lines.slice(i).join("\n").trim();
  if (rest) conf.sections = rest;
  return conf;
}

export function writeVmConfig(conf) {
  let raw = "";
  if (conf.description) for (const l of String(conf.description).split("\n")) raw += `#${encodeText(l)}\n`;
  for (const k of Object.keys(conf).sort()) {
    if (k === "description" || k === "sections" || k === "digest" || conf[k] === undefined) continue;
    const v = String(conf[k]);
    if (/\n/.test(v)) throw die(`detected invalid newline inside property '${k}'`);
    raw += `${k}: ${v}\n`;
  }
  if (conf.sections) raw += `\n${conf.sections}\n`;
  return raw;
}

/** @returns {VmConf|undefined} */
export function readVmConfig(vmid) {
  try {
    return parseVmConfig(readFileSync(qmConfPath(vmid), "utf8"));
  } catch {
    return undefined;
  }
}

/** load_config: "Configuration file 'nodes/<node>/qemu-server/<vmid>.conf' does not exist" (ENOENT -> 2) */
export function loadVmConfig(vmid) {
  const conf = readVmConfig(vmid);
  if (!conf) throw die(`Configuration file '${cfsQmConfigPath(vmid)}' does not exist`, 2);
  return conf;
}

/** assert_config_exists_on_node (check_running): raised after a failed -f, errno ENOENT -> 2 */
export function assertConfigExists(vmid) {
  if (!existsSync(qmConfPath(vmid))) throw die(`unable to find configuration file for VM ${vmid} on node '${NODE}'`, 2);
}

export function writeVmConfigFile(vmid, conf) {
  writeFileAtomic(qmConfPath(vmid), writeVmConfig(conf));
}

export function removeVmConfig(vmid) {
  try {
    unlinkSync(qmConfPath(vmid));
  } catch (e) {
    throw die(`failed to remove config file: ${/** @type {Error} */ (e).message}`);
  }
}

/** /var/lock/qemu-server/lock-<vmid>.conf */
export function qmLockPath(vmid) {
  return join(ROOT, "var/lock/qemu-server", `lock-${vmid}.conf`);
}

/**
 * @template T
 * @param {number|string} vmid
 * @param {() => Promise<T>} code
 * @param {number} [timeout]
 */
export function lockVmConfig(vmid, code, timeout = 10) {
  return lockFileFull(qmLockPath(vmid), timeout, code);
}

export function checkVmLock(conf) {
  if (conf.lock) throw die(`VM is locked (${conf.lock})`);
}

/** check_vmid_unused, with the guest type word of the existing guest */
export function vmidUser(vmid) {
  return vmlist().get(Number(vmid));
}

export function newUuid() {
  return randomUUID();
}
