// @ts-check
// qemu-server's PVE::QemuServer::Cloudinit for `citype: nocloud` (the default on Linux guests): the
// user-data, meta-data and network-config it generates from the VM config (or takes from the
// `cicustom` snippets), `qm cloudinit dump`, and the NoCloud ISO (volume label `cidata`) it writes
// into the VM's cloud-init volume at every start.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { die } from "./io.mjs";
import { absFilesystemPath, parseVolname, volumePath } from "./storage.mjs";
import { cicustomDesc, isCloudinit, isDriveKey, parseDrive, parseNet } from "./qmconf.mjs";
import { parsePropertyString } from "./schema.mjs";

/** the drive key and volume of the VM's cloud-init drive, if it has one */
export function cloudinitDrive(conf) {
  for (const [k, v] of Object.entries(conf)) {
    if (!isDriveKey(k)) continue;
    const d = parseDrive(String(v));
    if (isCloudinit(d)) return { key: k, volid: /** @type {string} */ (d.file) };
  }
  return undefined;
}

/** read_cloudinit_snippets_file: a `snippets` volume that exists */
function snippet(cfg, volid) {
  const { vtype } = parseVolname(cfg, volid);
  if (vtype !== "snippets") throw die(`${volid} is not in the snippets directory`);
  return readFileSync(absFilesystemPath(cfg, volid), "utf8");
}

/** the `cicustom` parts that name snippets, each checked as Proxmox does at start */
function custom(cfg, conf) {
  /** @type {Record<string, string>} */
  const files = conf.cicustom ? parsePropertyString(cicustomDesc, String(conf.cicustom)) : {};
  /** @type {Record<string, string>} */
  const out = {};
  for (const [k, volid] of Object.entries(files)) out[k] = snippet(cfg, volid);
  return out;
}

/** cloudinit_userdata: hostname, the default user and its credentials */
function defaultUserData(conf, vmid) {
  const name = String(conf.name ?? `VM${vmid}`);
  let s = "#cloud-config\n";
  s += `hostname: ${name}\n`;
  s += "manage_etc_hosts: true\n";
  if (conf.searchdomain) s += `fqdn: ${name}.${String(conf.searchdomain).split(/[ ,;]+/)[0]}\n`;
  if (conf.ciuser) s += `user: ${conf.ciuser}\n`;
  if (conf.cipassword) s += `password: ${conf.cipassword}\n`;
  s += "chpasswd:\n  expire: False\n";
  s += "users:\n  - default\n";
  s += `package_upgrade: ${conf.ciupgrade === "0" ? "false" : "true"}\n`;
  return s;
}

/** nocloud_network: network-config version 1, one physical interface per netN */
function defaultNetwork(conf) {
  let s = "version: 1\nconfig:\n";
  for (const k of Object.keys(conf).filter((k) => /^net\d+$/.test(k)).sort()) {
    const id = k.slice(3);
    const net = parseNet(String(conf[k]));
    s += `    - type: physical\n      name: eth${id}\n      mac_address: '${String(net.macaddr).toLowerCase()}'\n      subnets:\n`;
    const ipconfig = conf[`ipconfig${id}`] ? Object.fromEntries(String(conf[`ipconfig${id}`]).split(",").map((p) => p.split("=", 2))) : {};
    if (!ipconfig.ip || ipconfig.ip === "dhcp") s += "      - type: dhcp4\n";
    else if (ipconfig.ip !== "manual") {
      const [addr, bits] = String(ipconfig.ip).split("/");
      const mask = [0, 1, 2, 3].map((i) => (0xffffffff << (32 - Number(bits))) >>> (24 - 8 * i) & 255).join(".");
      s += `      - type: static\n        address: '${addr}'\n        netmask: '${mask}'\n`;
      if (ipconfig.gw) s += `        gateway: '${ipconfig.gw}'\n`;
    }
  }
  if (conf.nameserver || conf.searchdomain) {
    s += "    - type: nameserver\n";
    if (conf.nameserver) s += `      address:\n${String(conf.nameserver).split(/[ ,;]+/).map((a) => `      - '${a}'\n`).join("")}`;
    if (conf.searchdomain) s += `      search:\n${String(conf.searchdomain).split(/[ ,;]+/).map((a) => `      - '${a}'\n`).join("")}`;
  }
  return s;
}

/**
 * The three NoCloud files for the VM (generate_cloudinit_config): cicustom snippets replace the
 * generated ones; meta-data holds only the instance-id, a digest of the other two.
 * @returns {{ user: string, network: string, meta: string }}
 */
export function cloudinitFiles(cfg, conf, vmid) {
  const c = custom(cfg, conf);
  const user = c.user ?? defaultUserData(conf, vmid);
  const network = c.network ?? defaultNetwork(conf);
  const meta = c.meta ?? `instance-id: ${createHash("sha1").update(user + network).digest("hex")}\n`;
  return { user, network, meta };
}

/**
 * At start: the NoCloud ISO (genisoimage -V cidata) written into the cloud-init volume as qcow2, as
 * qemu-server does with `qemu-img dd`.
 */
export function writeCloudinitDrive(cfg, conf, vmid) {
  const drive = cloudinitDrive(conf);
  if (!drive) return;
  const files = cloudinitFiles(cfg, conf, vmid);
  const dir = mkdtempSync(join(tmpdir(), `pve-sim-ci-${vmid}-`));
  try {
    const src = join(dir, "cidata");
    mkdirSync(src);
    writeFileSync(join(src, "user-data"), files.user);
    writeFileSync(join(src, "meta-data"), files.meta);
    writeFileSync(join(src, "network-config"), files.network);
    const iso = join(dir, "ci.iso");
    const g = spawnSync("genisoimage", ["-quiet", "-iso-level", "3", "-R", "-V", "cidata", "-o", iso, src], { encoding: "utf8" });
    if (g.status !== 0) throw die(`failed to generate cloud-init ISO: ${g.stderr || g.error?.message}`);
    const path = volumePath(cfg, drive.volid);
    const c = spawnSync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", iso, path], { encoding: "utf8" });
    if (c.status !== 0) throw die(`command 'qemu-img convert' failed: ${c.stderr.trim()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
