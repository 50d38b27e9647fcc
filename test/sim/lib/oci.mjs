// @ts-check
// PVE ≥ 9.1's OCI image path of `pct create` (pve-container restore_oci_archive; proxmox-cli.md §5.3):
// the image's layers are extracted in order into the CT's root (inside its user namespace), whiteouts
// applied, and the image configuration is mapped onto the CT config: Entrypoint+Cmd → entrypoint
// (shell-quoted join) with console mode and host-managed networking, Env → env, User → lxc.init.uid/
// gid/groups (resolved in the image's /etc/passwd and /etc/group), WorkingDir → lxc.init.cwd,
// StopSignal → lxc.signal.halt, Volumes → directories only.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { die, print } from "./io.mjs";
import { childEnv, runCommand } from "./lxc.mjs";

/** String::ShellQuote: words of safe characters stay bare, others are '…' with ' as '\'' */
export function shellQuote(words) {
  return words
    .map((w) => {
      if (w === "") return "''";
      if (/^[\w!%+,\-./:=@^]+$/.test(w)) return w;
      return `'${w.replace(/'/g, "'\\''")}'`;
    })
    .join(" ");
}

function json(path, what) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw die(`failed to parse OCI ${what}: ${/** @type {Error} */ (e).message}`);
  }
}

function blob(dir, digest) {
  const [alg, hex] = String(digest).split(":");
  if (!alg || !hex || !/^[a-z0-9]+$/.test(alg) || !/^[0-9a-f]+$/.test(hex)) throw die(`invalid OCI digest '${digest}'`);
  return join(dir, "blobs", alg, hex);
}

function layerCompression(mediaType) {
  if (/gzip$/.test(mediaType)) return ["-z"];
  if (/zstd$/.test(mediaType)) return ["--zstd"];
  if (/tar$/.test(mediaType)) return [];
  throw die(`unsupported OCI layer media type '${mediaType}'`);
}

function passwdLookup(rootdir, resolveInRoot, user) {
  const read = (rel) => {
    try {
      return readFileSync(resolveInRoot(rootdir, rel), "utf8");
    } catch {
      return "";
    }
  };
  const rows = (text) => text.split("\n").map((l) => l.split(":")).filter((f) => f.length >= 3 && f[0]);
  const passwd = rows(read("/etc/passwd"));
  const groups = rows(read("/etc/group"));
  const [u, g] = user.split(":");
  const pw = /^\d+$/.test(u) ? passwd.find((f) => f[2] === u) : passwd.find((f) => f[0] === u);
  if (!pw && !/^\d+$/.test(u)) throw die(`unable to find user '${u}' in the image's /etc/passwd`);
  const uid = pw ? pw[2] : u;
  let gid = pw ? pw[3] : "0";
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = g;
    else {
      const gr = groups.find((f) => f[0] === g);
      if (!gr) throw die(`unable to find group '${g}' in the image's /etc/group`);
      gid = gr[2];
    }
  }
  const extra = pw && g === undefined ? groups.filter((f) => (f[3] ?? "").split(",").includes(pw[0]) && f[2] !== gid).map((f) => f[2]) : [];
  return { uid, gid, groups: extra };
}

/**
 * @param {string} archive absolute path of the OCI archive
 * @param {string} rootdir the CT's root volume
 * @param {Record<string, any>} conf the CT config being created
 * @param {string[]} userns argv prefix entering the CT's user namespace ([] for privileged CTs)
 * @param {string[]} tarFlags PVE's common tar flags
 * @param {(root: string, p: string) => string} resolveInRoot
 */
export function restoreOciArchive(archive, rootdir, conf, userns, tarFlags, resolveInRoot) {
  print("Detected OCI archive\n");
  const dir = mkdtempSync(join(tmpdir(), "pve-sim-oci-"));
  try {
    const x = spawnSync("tar", ["-xf", archive, "-C", dir], { encoding: "utf8", env: childEnv() });
    if (x.status !== 0) throw die(`failed to extract OCI archive '${archive}': ${String(x.stderr).trim()}`);
    const index = json(join(dir, "index.json"), "index");
    const desc = (index.manifests ?? [])[0];
    if (!desc) throw die("OCI index contains no manifest");
    const manifest = json(blob(dir, desc.digest), "manifest");
    const image = json(blob(dir, manifest.config?.digest), "image config");
    for (const layer of manifest.layers ?? []) {
      const file = blob(dir, layer.digest);
      const comp = layerCompression(String(layer.mediaType ?? "application/vnd.oci.image.layer.v1.tar"));
      const list = spawnSync("tar", ["-t", ...comp, "-f", file], { encoding: "utf8", env: childEnv(), maxBuffer: 256 * 1024 * 1024 });
      if (list.status !== 0) throw die(`failed to read OCI layer ${layer.digest}`);
      // whiteouts hide what lower layers put there; an opaque marker empties the directory first
      for (const name of String(list.stdout).split("\n").filter(Boolean)) {
        const base = basename(name);
        if (base === ".wh..wh..opq") {
          const target = resolveInRoot(rootdir, dirname(name));
          if (existsSync(target)) for (const e of readdirSync(target)) rmSync(join(target, e), { recursive: true, force: true });
        } else if (base.startsWith(".wh.")) {
          rmSync(resolveInRoot(rootdir, join(dirname(name), base.slice(4))), { recursive: true, force: true });
        }
      }
      // on stdin, as PVE feeds archives: the CT's root user cannot open files in our private temp dir
      const fd = openSync(file, "r");
      try {
        runCommand([...userns, "tar", "xpf", "-", ...comp, ...tarFlags, "--exclude=.wh.*", "-C", rootdir], { stdin: fd });
      } finally {
        closeSync(fd);
      }
    }
    const c = image.config ?? {};
    const args = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
    if (args.length > 0 && args[0] !== "/sbin/init") {
      conf.entrypoint = shellQuote(args);
      conf.cmode = "console";
      for (const key of Object.keys(conf).filter((k) => /^net\d+$/.test(k))) {
        if (!/(^|,)host-managed=/.test(conf[key])) {
          conf[key] = `${conf[key]},host-managed=1`;
          print(`Auto-Enabling host-managed network for network device ${key}.\n`);
        }
      }
    }
    if (Array.isArray(c.Env) && c.Env.length > 0) conf.env = c.Env.join("\0");
    const lxc = (conf.lxc ??= []);
    if (c.User) {
      const u = passwdLookup(rootdir, resolveInRoot, String(c.User));
      lxc.push(["lxc.init.uid", u.uid], ["lxc.init.gid", u.gid]);
      if (u.groups.length > 0) lxc.push(["lxc.init.groups", u.groups.join(",")]);
    }
    if (c.WorkingDir) lxc.push(["lxc.init.cwd", c.WorkingDir]);
    lxc.push(["lxc.signal.halt", c.StopSignal || "SIGTERM"]);
    for (const vol of Object.keys(c.Volumes ?? {})) {
      print(`creating base directory for volume at ${vol}\n`);
      mkdirSync(resolveInRoot(rootdir, vol), { recursive: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
