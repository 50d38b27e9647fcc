// @ts-check
// The slice of pve-storage pct needs: storage.cfg (SectionConfig format), volume IDs and the
// directory plugin. Every storage with a `path` is treated as a directory storage.
//
// Container volumes: PVE's dir plugin would make a raw image + ext4 for `STORAGE:SIZE`; the
// simulator always allocates a *subvolume directory* (as PVE does on ZFS), named like ZFS does:
// volid `<storage>:subvol-<vmid>-disk-<n>`, directory `<path>/images/<vmid>/subvol-<vmid>-disk-<n>/`.
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { die } from "./io.mjs";
import { ETC_PVE, NODE, ROOT, mkdirp, writeFileAtomic } from "./env.mjs";

/** @typedef {{type: string, id: string, path?: string, content: Set<string>, disable?: boolean, nodes?: Set<string>, props: Record<string,string>}} StorageCfg */

const VZTMPL_EXT = /\.(tar|tar\.(gz|xz|zst|bz2))$/i;

export function defaultStorageCfg() {
  return (
    `dir: local\n\tpath ${join(ROOT, "var/lib/vz")}\n\tcontent iso,vztmpl,backup,snippets\n\n` +
    `dir: ctstore\n\tpath ${join(ROOT, "var/lib/ctstore")}\n\tcontent rootdir,images\n\n`
  );
}

/** @returns {Map<string, StorageCfg>} */
export function readStorageCfg() {
  const file = join(ETC_PVE, "storage.cfg");
  let raw;
  try {
    raw = readFileSync(file, "utf8");
  } catch {
    raw = defaultStorageCfg();
    writeFileAtomic(file, raw);
  }
  /** @type {Map<string, StorageCfg>} */
  const res = new Map();
  /** @type {StorageCfg|undefined} */
  let cur;
  for (const line of raw.split("\n")) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    let m;
    if ((m = /^(\S+):\s*(\S+)\s*$/.exec(line))) {
      cur = { type: /** @type {string} */ (m[1]), id: /** @type {string} */ (m[2]), content: new Set(), props: {} };
      res.set(cur.id, cur);
    } else if (cur && (m = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line))) {
      const k = /** @type {string} */ (m[1]);
      const v = m[2] ?? "1";
      cur.props[k] = v;
      if (k === "path") cur.path = v;
      else if (k === "content") cur.content = new Set(v.split(/[,;\s]+/).filter(Boolean));
      else if (k === "disable") cur.disable = v !== "0";
      else if (k === "nodes") cur.nodes = new Set(v.split(/[,;\s]+/).filter(Boolean));
    }
  }
  // the directories a fresh PVE install has
  for (const s of res.values()) {
    if (!s.path || s.disable) continue;
    try {
      if (s.content.has("vztmpl")) mkdirp(join(s.path, "template/cache"));
      if (s.content.has("rootdir") || s.content.has("images")) mkdirp(join(s.path, "images"));
      if (s.content.has("snippets")) mkdirp(join(s.path, "snippets"));
    } catch {
      /* reported when used */
    }
  }
  return res;
}

export function storageConfig(cfg, sid) {
  if (!sid) throw die("no storage ID specified");
  const s = cfg.get(sid);
  if (!s) throw die(`storage '${sid}' does not exist`);
  return s;
}

/** storage_check_enabled */
export function storageCheckEnabled(cfg, sid, node = NODE) {
  const s = storageConfig(cfg, sid);
  if (s.disable) throw die(`storage '${sid}' is disabled`);
  if (s.nodes && !s.nodes.has(node)) throw die(`storage '${sid}' is not available on node '${node}'`);
  return s;
}

/** @returns {[string, string] | undefined} */
export function parseVolumeId(volid, noerr = false) {
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/is.exec(volid);
  if (m) return [/** @type {string} */ (m[1]), /** @type {string} */ (m[2])];
  if (noerr) return undefined;
  throw die(`unable to parse volume ID '${volid}'`);
}

/**
 * Plugin::parse_volname for directory storages (plus the ZFS-style subvol names used here).
 * @returns {{vtype: string, name: string, vmid?: string}}
 */
export function parseVolname(cfg, volid) {
  const [sid, volname] = /** @type {[string,string]} */ (parseVolumeId(volid));
  const s = storageConfig(cfg, sid);
  if (!s.path) throw die(`unable to parse ${s.type} volume name '${volname}'`);
  let m;
  if ((m = /^((?:vm|base|subvol)-(\d+)-disk-\d+)$/.exec(volname))) return { vtype: "images", name: /** @type {string} */ (m[1]), vmid: m[2] };
  if ((m = /^(\d+)\/(\S+)$/.exec(volname))) return { vtype: "images", name: /** @type {string} */ (m[2]), vmid: m[1] };
  if ((m = /^iso\/([^/]+\.(iso|img))$/i.exec(volname))) return { vtype: "iso", name: /** @type {string} */ (m[1]) };
  if ((m = /^vztmpl\/([^/]+)$/.exec(volname)) && VZTMPL_EXT.test(/** @type {string} */ (m[1])))
    return { vtype: "vztmpl", name: /** @type {string} */ (m[1]) };
  if ((m = /^backup\/([^/]+)$/.exec(volname))) return { vtype: "backup", name: /** @type {string} */ (m[1]) };
  if ((m = /^snippets\/([^/]+)$/.exec(volname))) return { vtype: "snippets", name: /** @type {string} */ (m[1]) };
  throw die(`unable to parse directory volume name '${volname}'`);
}

const SUBDIRS = { images: "images", rootdir: "private", iso: "template/iso", vztmpl: "template/cache", backup: "dump", snippets: "snippets" };

/** PVE::Storage::path */
export function volumePath(cfg, volid) {
  const [sid] = /** @type {[string,string]} */ (parseVolumeId(volid));
  const s = storageConfig(cfg, sid);
  const { vtype, name, vmid } = parseVolname(cfg, volid);
  const dir = join(/** @type {string} */ (s.path), SUBDIRS[/** @type {keyof typeof SUBDIRS} */ (vtype)] ?? vtype);
  return vtype === "images" ? join(dir, String(vmid), name) : join(dir, name);
}

/** Storage::check_volume_access as root@pam */
export function checkVolumeAccess(cfg, volid, type) {
  const parsed = parseVolumeId(volid, true);
  if (!parsed) return; // root may pass arbitrary filesystem paths
  const { vtype } = parseVolname(cfg, volid);
  if (type && vtype !== type && (type !== "rootdir" || vtype !== "images"))
    throw die(`unable to use volume ${volid} - content type needs to be '${type}'`);
}

/** Storage::abs_filesystem_path */
export function absFilesystemPath(cfg, volid) {
  let path;
  if (parseVolumeId(volid, true)) path = volumePath(cfg, volid);
  else if (isFile(volid)) path = volid;
  if (!path || !isFile(path)) throw die(`can't find file '${volid}'`);
  return path;
}

function isFile(p) {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * alloc_disk for a directory storage: a subvolume directory owned by the CT's root user.
 * @returns {string} the new volid
 */
export function allocSubvol(cfg, sid, vmid, rootUid, rootGid) {
  const s = storageConfig(cfg, sid);
  if (!s.content.has("rootdir")) throw die(`content type 'rootdir' is not available or configured on storage '${sid}'`);
  if (!s.path) throw die(`storage type '${s.type}' is not supported by the simulator (only directory storages)`);
  const dir = join(s.path, "images", String(vmid));
  mkdirp(dir);
  for (let n = 0; ; n++) {
    const name = `subvol-${vmid}-disk-${n}`;
    const p = join(dir, name);
    if (existsSync(p)) continue;
    mkdirSync(p, { mode: 0o755 });
    chownSync(p, rootUid, rootGid);
    return `${sid}:${name}`;
  }
}

/** vdisk_free */
export function freeVolume(cfg, volid) {
  const p = volumePath(cfg, volid);
  // never recurse into something mounted below the volume (a host bind mount left behind)
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((mp) => mp === p || mp.startsWith(`${p}/`));
  if (mounts.length) throw die(`unable to free volume '${volid}' - '${mounts[0]}' is mounted`);
  rmSync(p, { recursive: true, force: true });
  try {
    rmdirSync(join(p, "..")); // images/<vmid>, if now empty
  } catch {
    /* not empty */
  }
}
