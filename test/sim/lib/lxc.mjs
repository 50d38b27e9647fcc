// @ts-check
// The LXC side of pve-container (PVE::LXC): the generated /var/lib/lxc/<vmid>/config, start, stop,
// running state, PID and vmstatus. Everything runs the real LXC tools with `-P $PVE_SIM_ROOT/var/lib/lxc`.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync, statfsSync, unlinkSync, writeFileSync } from "node:fs";
import { constants, cpus } from "node:os";
import { dirname, join } from "node:path";
import { die, warn } from "./io.mjs";
import { CLI_PATH, LXC_PATH, RUN_PVE, mkdirp } from "./env.mjs";
import { parseFeatures, parseNet, parseVolume, readConfig, volumeKeys } from "./pveconf.mjs";
import { volumePath } from "./storage.mjs";

/** the environment PVE's CLI runs its helpers with */
export function childEnv(extra = {}) {
  const env = { ...process.env, PATH: CLI_PATH, ...extra };
  delete env["SSL_CERT_FILE"];
  delete env["SSL_CERT_DIR"];
  return env;
}

/** String::ShellQuote as used by PVE::Tools::cmd2string (for messages only) */
export function cmd2string(argv) {
  return argv
    .map((a) => {
      if (a === "") return "''";
      if (!/[^\w!%+,\-./:=@^]/.test(a)) return a;
      return `'${a.replace(/'/g, "'\\''")}'`.replace(/^''/, "").replace(/''$/, "");
    })
    .join(" ");
}

/**
 * PVE::Tools::run_command: output goes to the (task) output; failure dies with
 * "command '<cmd>' failed: exit code N" / "got signal N".
 * @param {string[]} argv
 * @param {{stdin?: number|"ignore", timeout?: number}} [opts]  timeout in seconds
 */
export function runCommand(argv, opts = {}) {
  const r = spawnSync(/** @type {string} */ (argv[0]), argv.slice(1), {
    stdio: [opts.stdin ?? "ignore", 1, 1],
    env: childEnv(),
    timeout: opts.timeout ? opts.timeout * 1000 : undefined,
    killSignal: "SIGKILL",
  });
  const cmd = cmd2string(argv);
  if (r.error && /** @type {NodeJS.ErrnoException} */ (r.error).code === "ETIMEDOUT") throw die(`command '${cmd}' failed: got timeout`);
  if (r.error) throw die(`command '${cmd}' failed: ${r.error.message}`);
  if (r.signal) throw die(`command '${cmd}' failed: got signal ${osSignalNumber(r.signal)}`);
  if (r.status !== 0) throw die(`command '${cmd}' failed: exit code ${r.status}`);
}

function osSignalNumber(sig) {
  return /** @type {Record<string, number>} */ (/** @type {unknown} */ (constants.signals))[sig] ?? sig;
}

// ---------------------------------------------------------------------------------------------
// LXC version and cgroup layout

let lxcVersionCache;
/** @returns {[number, number]} */
export function lxcVersion() {
  if (!lxcVersionCache) {
    const r = spawnSync("lxc-start", ["--version"], { encoding: "utf8", env: childEnv() });
    if (r.error) throw die("lxc-start not found - install Debian's 'lxc' package");
    const m = /(\d+)\.(\d+)/.exec(r.stdout ?? "");
    lxcVersionCache = [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)];
  }
  return lxcVersionCache;
}

/**
 * @returns {{mode: 1|2, v2?: string, v2ctrl: Set<string>, v1: Map<string,string>}}
 *   v2: cgroup2 mount point, v2ctrl: controllers enabled there, v1: controller -> mount point
 */
export function cgroupLayout() {
  const v1 = new Map();
  let v2;
  for (const line of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
    const [, mp, fstype, opts] = line.split(" ");
    if (fstype === "cgroup2" && !v2) v2 = mp;
    if (fstype === "cgroup")
      for (const o of (opts ?? "").split(","))
        if (/^(cpu|cpuacct|cpuset|memory|devices|freezer|blkio|pids|hugetlb|net_cls|net_prio|perf_event|rdma|misc)$/.test(o)) v1.set(o, mp);
  }
  let v2ctrl = new Set();
  if (v2) {
    try {
      v2ctrl = new Set(readFileSync(join(v2, "cgroup.controllers"), "utf8").trim().split(/\s+/).filter(Boolean));
    } catch {
      /* none */
    }
  }
  return { mode: v2 === "/sys/fs/cgroup" ? 2 : 1, v2, v2ctrl, v1 };
}

/** PVE::CGroup::clamp_cpu_shares */
export function clampCpuShares(shares) {
  if (shares === undefined) return undefined;
  const n = Number(shares);
  if (cgroupLayout().mode === 2) return Math.min(Math.max(n, 1), 10000);
  return Math.min(Math.max(n, 2), 262144);
}

// ---------------------------------------------------------------------------------------------
// state

/** @returns {{state: string, pid?: number}} */
export function lxcInfo(vmid) {
  // prints "State:          RUNNING" / "PID:            123"; "<vmid> doesn't exist" (rc 1) before the first start
  const r = spawnSync("lxc-info", ["-P", LXC_PATH, "-n", String(vmid), "-s", "-p"], { encoding: "utf8", env: childEnv() });
  if (r.status !== 0) return { state: "STOPPED" };
  const out = r.stdout ?? "";
  const state = /^State:\s+(\S+)/m.exec(out)?.[1] ?? "STOPPED";
  const pid = /^PID:\s+(\d+)/m.exec(out)?.[1];
  return { state, pid: pid ? Number(pid) : undefined };
}

/** PVE tests the LXC command socket; any state but STOPPED means it exists */
export function checkRunning(vmid) {
  return lxcInfo(vmid).state !== "STOPPED";
}

export function findLxcPid(vmid) {
  const { pid } = lxcInfo(vmid);
  if (!pid) throw die(`unable to get PID for CT ${vmid} (not running?)`);
  return pid;
}

export function ctDir(vmid) {
  return join(LXC_PATH, String(vmid));
}

// ---------------------------------------------------------------------------------------------
// generated LXC config (PVE::LXC::update_lxc_config, adapted)

const COMMON_SECCOMP = "/usr/share/lxc/config/common.seccomp";

/** PVE::LXC::parse_id_maps */
export function parseIdMaps(conf) {
  /** @type {[string,string,string,string][]} */
  const map = [];
  let rootUid = 0;
  let rootGid = 0;
  for (const [k, v] of conf.lxc ?? []) {
    if (k !== "lxc.idmap") continue;
    const m = /^([ug])\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(v);
    if (!m) throw die(`failed to parse idmap: ${v}`);
    const [, t, ct, host, len] = /** @type {string[]} */ (m);
    map.push([/** @type {string} */ (t), /** @type {string} */ (ct), /** @type {string} */ (host), /** @type {string} */ (len)]);
    if (ct === "0") {
      if (t === "u") rootUid = Number(host);
      else rootGid = Number(host);
    }
  }
  if (!map.length && conf.unprivileged) {
    map.push(["u", "0", "100000", "65536"], ["g", "0", "100000", "65536"]);
    rootUid = rootGid = 100000;
  }
  return { map, rootUid, rootGid };
}

/** the first directory on the way to `path` that `uid`/`gid` may not traverse */
export function untraversable(path, uid, gid) {
  let p = path;
  const dirs = [];
  while (true) {
    dirs.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const d of dirs) {
    let st;
    try {
      st = statSync(d);
    } catch {
      return undefined; // missing: reported by whoever needs it
    }
    const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) return d;
  }
  return undefined;
}

function cpusetMembers(layout) {
  const read = (f) => {
    try {
      return readFileSync(f, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  let base;
  let v = "";
  if (layout.v2ctrl.has("cpuset") && layout.v2) {
    base = layout.v2;
    v = "2";
  } else if (layout.v1.has("cpuset")) base = layout.v1.get("cpuset");
  if (!base) return undefined;
  const txt = read(join(base, "lxc", v ? "cpuset.cpus.effective" : "cpuset.cpus")) ?? read(join(base, v ? "cpuset.cpus.effective" : "cpuset.cpus"));
  if (!txt) return undefined;
  const members = [];
  for (const part of txt.split(",")) {
    const [a, b] = part.split("-").map(Number);
    for (let i = /** @type {number} */ (a); i <= (b ?? /** @type {number} */ (a)); i++) members.push(i);
  }
  return { members, version: v };
}

function shortCpuList(members) {
  const out = [];
  for (let i = 0; i < members.length; i++) {
    let j = i;
    while (j + 1 < members.length && members[j + 1] === members[j] + 1) j++;
    out.push(i === j ? `${members[i]}` : `${members[i]}-${members[j]}`);
    i = j;
  }
  return out.join(",");
}

/**
 * Writes <lxcpath>/<vmid>/config (and rules.seccomp). Returns the rootfs directory.
 * @param {string|number} vmid
 * @param {import("./pveconf.mjs").PctConf} conf
 * @param {Map<string, any>} storageCfg
 */
export function updateLxcConfig(vmid, conf, storageCfg) {
  const dir = ctDir(vmid);
  const [lxcMajor] = lxcVersion();
  const layout = cgroupLayout();
  let raw = "";
  raw += "lxc.cgroup.relative = 0\n";
  raw += `lxc.cgroup.dir.monitor = lxc.monitor/${vmid}\n`;
  raw += `lxc.cgroup.dir.container = lxc/${vmid}\n`;
  raw += "lxc.cgroup.dir.container.inner = ns\n";

  if (!conf.arch) throw die("missing 'arch' - internal error");
  raw += `lxc.arch = ${conf.arch}\n`;
  const customIdmap = (conf.lxc ?? []).some(([k]) => k === "lxc.idmap");
  const unprivileged = !!conf.unprivileged || customIdmap;
  const ostype = conf.ostype;
  if (!ostype) throw die("missing 'ostype' - internal error");
  mkdirp(dir);

  const cfgpath = "/usr/share/lxc/config";
  raw += `lxc.include = ${existsSync(`${cfgpath}/${ostype}.common.conf`) ? `${cfgpath}/${ostype}.common.conf` : `${cfgpath}/common.conf`}\n`;
  if (unprivileged)
    raw += `lxc.include = ${existsSync(`${cfgpath}/${ostype}.userns.conf`) ? `${cfgpath}/${ostype}.userns.conf` : `${cfgpath}/userns.conf`}\n`;

  const features = /** @type {Record<string,string>} */ (parseFeatures(conf.features));
  const hasLxc = (key) => (conf.lxc ?? []).some(([k]) => k === key);

  // make_seccomp_config
  if (!hasLxc("lxc.seccomp.profile") && unprivileged) {
    /** @type {Record<string,string[]>} */
    const rules = {
      keyctl: ["errno 38"],
      ioctl: ["errno 1 [1,0x9400,SCMP_CMP_MASKED_EQ,0xff00]"],
      socket: ["errno 97 [0,38,SCMP_CMP_EQ]"],
    };
    if (features.keyctl === "1") delete rules["keyctl"];
    if (features.mknod === "1") warn("WARN: feature 'mknod' needs pve-lxc-syscalld, which the simulator does not provide - ignored");
    const extra = `${Object.keys(rules)
      .sort()
      .flatMap((s) => (rules[s] ?? []).map((r) => `${s} ${r}`))
      .join("\n")}\n`;
    writeFileSync(join(dir, "rules.seccomp"), readFileSync(COMMON_SECCOMP, "utf8") + extra);
    raw += `lxc.seccomp.profile = ${join(dir, "rules.seccomp")}\n`;
  }
  // make_apparmor_config (LXC ignores these when the kernel has no AppArmor)
  if (!hasLxc("lxc.apparmor.profile")) {
    raw += "lxc.apparmor.profile = generated\n";
    raw += "lxc.apparmor.raw = allow mqueue,\n";
    if (features.nesting === "1") {
      raw += "lxc.apparmor.allow_nesting = 1\n";
      raw += "lxc.apparmor.raw = allow userns,\n";
    } else {
      raw += "lxc.apparmor.raw = deny mount -> /proc/,\n";
      raw += "lxc.apparmor.raw = deny mount -> /sys/,\n";
    }
    if (features.mount) for (const fs of features.mount.split(/[;\s]+/).filter(Boolean)) raw += `lxc.apparmor.raw = mount fstype=${fs},\n`;
  }
  if (features.fuse === "1") {
    raw += "lxc.apparmor.raw = mount fstype=fuse,\n";
    raw += "lxc.mount.entry = /dev/fuse dev/fuse none bind,create=file 0 0\n";
  }
  if (unprivileged && features.force_rw_sys !== "1") raw += "lxc.mount.auto = sys:mixed\n";
  if (conf.entrypoint !== undefined && conf.entrypoint !== "/sbin/init")
    raw += "lxc.mount.entry = shm dev/shm tmpfs rw,nosuid,nodev,create=dir 0 0\n";
  raw += "lxc.monitor.unshare = 1\n";
  if (unprivileged && !customIdmap) {
    raw += "lxc.idmap = u 0 100000 65536\n";
    raw += "lxc.idmap = g 0 100000 65536\n";
  }
  if (conf.console !== undefined && !Number(conf.console)) {
    raw += "lxc.console.path = none\n";
    if (layout.v2) raw += "lxc.cgroup2.devices.deny = c 5:1 rwm\n";
  }
  raw += `lxc.tty.max = ${conf.tty ?? 2}\n`;
  raw += "lxc.environment = TERM=linux\n";
  raw += `lxc.uts.name = ${conf.hostname || `CT${vmid}`}\n`;

  // resource limits: cgroup v2 keys as PVE writes them when the v2 hierarchy has the controller;
  // on a v1/hybrid host the equivalent v1 keys (what PVE 7 wrote) where the v1 controller exists
  const memory = Number(conf.memory || 512);
  const swap = Number(conf.swap ?? 0);
  if (layout.v2ctrl.has("memory")) {
    const max = Math.trunc(memory * 1024 * 1024);
    const high = memory >= 16 * 1024 ? Math.trunc((memory - 128) * 1024 * 1024) : Math.trunc(memory * 1024 * 1016);
    raw += `lxc.cgroup2.memory.max = ${max}\nlxc.cgroup2.memory.high = ${high}\n`;
    raw += `lxc.cgroup2.memory.swap.max = ${Math.trunc(swap * 1024 * 1024)}\n`;
  } else if (layout.v1.has("memory")) {
    const mp = /** @type {string} */ (layout.v1.get("memory"));
    raw += `lxc.cgroup.memory.limit_in_bytes = ${Math.trunc(memory * 1024 * 1024)}\n`;
    if (existsSync(join(mp, "memory.memsw.limit_in_bytes")))
      raw += `lxc.cgroup.memory.memsw.limit_in_bytes = ${Math.trunc((memory + swap) * 1024 * 1024)}\n`;
  }
  const cpulimit = Number(conf.cpulimit ?? 0);
  if (layout.v2ctrl.has("cpu")) {
    if (cpulimit) raw += `lxc.cgroup2.cpu.max = ${Math.trunc(100000 * cpulimit)} 100000\n`;
    if (conf.cpuunits !== undefined) raw += `lxc.cgroup2.cpu.weight = ${clampCpuShares(conf.cpuunits)}\n`;
  } else if (layout.v1.has("cpu")) {
    if (cpulimit) raw += `lxc.cgroup.cpu.cfs_period_us = 100000\nlxc.cgroup.cpu.cfs_quota_us = ${Math.trunc(100000 * cpulimit)}\n`;
    if (conf.cpuunits !== undefined) raw += `lxc.cgroup.cpu.shares = ${clampCpuShares(conf.cpuunits)}\n`;
  }

  if (conf.rootfs === undefined) throw die("missing 'rootfs' configuration");
  const rootfs = volumeDir(storageCfg, "rootfs", conf.rootfs);
  // PVE: lxc.rootfs.path = /var/lib/lxc/<vmid>/rootfs, onto which its pre-start hook mounts the
  // volume; here LXC gets the volume directory itself and mounts it at <lxcpath>/<vmid>/rootfs
  raw += `lxc.rootfs.path = ${rootfs}\n`;
  mkdirp(join(dir, "rootfs"));
  raw += `lxc.rootfs.mount = ${join(dir, "rootfs")}\n`;
  if (conf.entrypoint !== undefined) raw += `lxc.init.cmd = ${conf.entrypoint}\n`;

  for (const k of Object.keys(conf).sort()) {
    const m = /^net(\d+)$/.exec(k);
    if (!m) continue;
    const ind = m[1];
    const d = parseNet(conf[k]);
    raw += `lxc.net.${ind}.type = veth\n`;
    raw += `lxc.net.${ind}.veth.pair = veth${vmid}i${ind}\n`;
    if (d.hwaddr) raw += `lxc.net.${ind}.hwaddr = ${d.hwaddr}\n`;
    if (d.name) raw += `lxc.net.${ind}.name = ${d.name}\n`;
    // PVE attaches the host end to the bridge (lxcnetaddbr); here only if such a bridge exists
    const bridgeMtuFile = d.bridge ? `/sys/class/net/${d.bridge}/mtu` : "";
    const bridgeExists = !!d.bridge && existsSync(`/sys/class/net/${d.bridge}/bridge`);
    const bridgeMtu = bridgeExists ? Number(readFileSync(bridgeMtuFile, "utf8")) : 1500;
    const mtu = Number(d.mtu || bridgeMtu);
    if (mtu > bridgeMtu) throw die(`${k}: MTU size '${mtu}' is bigger than bridge MTU '${bridgeMtu}'`);
    raw += `lxc.net.${ind}.mtu = ${mtu}\n`;
    if (bridgeExists) raw += `lxc.net.${ind}.link = ${d.bridge}\n`;
    if (d.link_down !== "1" && d["host-managed"] === "1") {
      if (d.ip && !/^(dhcp|manual)$/.test(d.ip)) raw += `lxc.net.${ind}.ipv4.address = ${d.ip}\n`;
      if (d.gw) raw += `lxc.net.${ind}.ipv4.gateway = ${d.gw}\n`;
      if (d.ip6) {
        if (d.ip6 === "auto") throw die(`${k}: SLAAC is not supported for host-managed network configuration`);
        if (!/^(dhcp|manual)$/.test(d.ip6)) raw += `lxc.net.${ind}.ipv6.address = ${d.ip6}\n`;
      }
      if (d.gw6) raw += `lxc.net.${ind}.ipv6.gateway = ${d.gw6}\n`;
      raw += `lxc.net.${ind}.flags = up\n`;
    }
  }

  // mount points (PVE mounts them in its pre-start hook; here LXC bind-mounts them)
  for (const key of volumeKeys(conf)) {
    if (key === "rootfs") continue;
    const mp = parseVolume(key, conf[key]);
    const src = mp.type === "volume" ? volumeDir(storageCfg, key, conf[key]) : mp.volume;
    let isFile = false;
    try {
      isFile = statSync(src).isFile();
    } catch {
      throw die(`${key}: mount point source '${src}' does not exist`);
    }
    const opts = ["rbind", `create=${isFile ? "file" : "dir"}`];
    if (mp.ro === "1") opts.push("ro");
    raw += `lxc.mount.entry = ${src} ${String(mp.mp).replace(/^\/+/, "")} none ${opts.join(",")} 0 0\n`;
  }

  // LXC < 6.0 knows neither lxc.environment.runtime nor .hooks; plain lxc.environment applies to
  // init, hooks and lxc-attach alike
  const envKey = (k) => (lxcMajor < 6 && /^lxc\.environment\.(runtime|hooks)$/.test(k) ? "lxc.environment" : k);
  if (conf.env) for (const v of String(conf.env).split(/\0+/)) raw += `${envKey("lxc.environment.runtime")} = ${v}\n`;

  let hadCpuset = false;
  for (const [k, v] of conf.lxc ?? []) {
    if (k === "lxc.cgroup2.cpuset.cpus" || k === "lxc.cgroup.cpuset.cpus") hadCpuset = true;
    raw += `${envKey(k)} = ${v}\n`;
  }
  const cpuset = cpusetMembers(layout);
  const cores = Number(conf.cores ?? 0);
  if (!hadCpuset && cores && cpuset) {
    const members = cpuset.members;
    while (members.length > cores) members.splice(Math.floor(Math.random() * members.length), 1);
    raw += `lxc.cgroup${cpuset.version}.cpuset.cpus = ${shortCpuList(members)}\n`;
  }
  if (lxcMajor < 6) raw = adaptInitCmd(raw, dir);
  writeFileSync(join(dir, "config"), raw);
  return rootfs;
}

/**
 * LXC >= 6.0 (what PVE 9 ships) splits lxc.init.cmd with lxc_string_split_quoted: whitespace
 * separates words, a word starting with ' or " runs to the same quote (no escapes), an
 * unterminated quoted word is dropped.
 * @param {string} s
 */
export function splitQuoted(s) {
  /** @type {string[]} */
  const out = [];
  let state = " ";
  let start = 0;
  const isSpace = (c) => /[ \t\n\v\f\r]/.test(c);
  for (let i = 0; i < s.length; i++) {
    const c = /** @type {string} */ (s[i]);
    if (state === " ") {
      if (isSpace(c)) continue;
      start = i;
      state = c === '"' || c === "'" ? c : "a";
    } else if (state === "a") {
      if (isSpace(c)) {
        out.push(s.slice(start, i));
        state = " ";
      }
    } else if (c === state) {
      out.push(s.slice(start + 1, i));
      state = " ";
    }
  }
  if (state === "a") out.push(s.slice(start));
  return out;
}

const shq = (a) => `'${a.replace(/'/g, "'\\''")}'`;

/**
 * LXC 5.0 splits lxc.init.cmd naively on spaces. When the LXC 6 split yields words that survive
 * that unchanged, the words are written plainly; otherwise the host's static busybox is
 * bind-mounted to /dev/.pve-sim/busybox and runs a script (single-quoted literals only) that
 * exec()s the exact argv, so the entrypoint is still PID 1 with the same environment.
 * @param {string} raw
 * @param {string} dir
 */
function adaptInitCmd(raw, dir) {
  const lines = raw.split("\n");
  const cmds = lines.filter((l) => l.startsWith("lxc.init.cmd = "));
  if (!cmds.length) return raw;
  const argv = splitQuoted(/** @type {string} */ (cmds[cmds.length - 1]).slice("lxc.init.cmd = ".length));
  let tail;
  if (argv.length && argv.every((a) => a !== "" && !/\s/.test(a))) tail = [`lxc.init.cmd = ${argv.join(" ")}`];
  else {
    const busybox = "/bin/busybox";
    if (!existsSync(busybox)) throw die(`simulator: entrypoint arguments need quoting, which needs ${busybox} (Debian busybox-static) on this LXC ${lxcVersion().join(".")} host`);
    /** @type {Map<string,string>} */
    const env = new Map([["container", "lxc"]]);
    for (const l of lines) {
      const m = /^lxc\.environment = ([^=]+)=(.*)$/.exec(l);
      if (m) env.set(/** @type {string} */ (m[1]), /** @type {string} */ (m[2]));
    }
    let script = "# generated by the PVE simulator (see test/sim/README.md): exec the entrypoint as PID 1\n";
    for (const v of ["SHLVL", "PWD", "OLDPWD", "PATH"]) {
      const val = env.get(v);
      script += val === undefined ? `unset ${v}\n` : `export ${shq(`${v}=${val}`)}\n`;
    }
    script += argv.length ? `exec ${argv.map(shq).join(" ")}\n` : "exit 1\n";
    writeFileSync(join(dir, "pve-sim-init"), script, { mode: 0o644 });
    tail = [
      `lxc.mount.entry = ${busybox} dev/.pve-sim/busybox none bind,ro,create=file 0 0`,
      `lxc.mount.entry = ${join(dir, "pve-sim-init")} dev/.pve-sim/init none bind,ro,create=file 0 0`,
      "lxc.init.cmd = /dev/.pve-sim/busybox sh /dev/.pve-sim/init",
    ];
  }
  return `${lines.filter((l) => !l.startsWith("lxc.init.cmd = ") && l !== "").concat(tail).join("\n")}\n`;
}

/** host directory of a rootfs/mpN volume (storage volume or bind-mount path) */
export function volumeDir(storageCfg, key, value) {
  const mp = parseVolume(key, value);
  if (mp.type === "device") throw die(`${key}: device mount points are not supported by the simulator`);
  if (mp.type === "bind") return mp.volume;
  const p = volumePath(storageCfg, mp.volume);
  if (!existsSync(p)) throw die(`volume '${mp.volume}' does not exist`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// start / stop

/** Cleans lxc log lines the way print_ct_stderr_log cleans lxc-start's stderr. */
function cleanStartLog(vmid, log) {
  const out = [];
  for (const line of log.split("\n")) {
    // lxc log file format: "lxc-start 100 20251125192849.879 ERROR    conf - ../src/lxc/conf.c:lxc_map_ids:3708 - msg"
    const m = /^\S+\s+\S+\s+\d+\.\d+\s+(\w+)\s+\S+\s+-\s+[^:]+:([^:]+):(\d+)\s+-\s+(.*)$/.exec(line);
    if (m && m[2] === "wait_on_daemonized_start") continue; // only with -d; PVE runs lxc-start -F
    if (m) out.push(`${m[2]}: ${m[3]} ${m[4]}`);
    else if (line.trim()) out.push(line.trim().replace(new RegExp(`^lxc-start:?\\s+${vmid}:?\\s*\\S+\\s*`), ""));
  }
  return out;
}

/**
 * LXC 5 on a hybrid host may leave lxc.monitor/<vmid> (and lxc/<vmid>) cgroups behind after a
 * failed start, and then refuses the next start ("Failed to create monitor cgroup"): remove empty
 * leftovers of a stopped CT.
 */
export function removeStaleCgroups(vmid) {
  const layout = cgroupLayout();
  const bases = new Set([...layout.v1.values(), ...(layout.v2 ? [layout.v2] : [])]);
  // name=systemd and other named v1 hierarchies are not in the controller map
  for (const line of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
    const [, mp, fstype] = line.split(" ");
    if (fstype === "cgroup" && mp) bases.add(mp);
  }
  const rmTree = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rmTree(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      /* busy or gone */
    }
  };
  for (const b of bases) for (const sub of ["lxc.monitor", "lxc"]) rmTree(join(b, sub, String(vmid)));
}

function readLog(logfile, fallback) {
  try {
    return readFileSync(logfile, "utf8");
  } catch {
    return fallback ?? "";
  }
}

/**
 * vm_start minus systemd: `lxc-start -d` waits for RUNNING itself (PVE: pve-container@<vmid>
 * running `lxc-start -F`, then the monitor socket). On failure the lxc ERROR lines go to the task
 * output, then "startup for container '<vmid>' failed".
 */
export function lxcStart(vmid) {
  mkdirp(RUN_PVE);
  const logfile = join(RUN_PVE, `ct-${vmid}.stderr`);
  removeStaleCgroups(vmid);
  try {
    unlinkSync(logfile);
  } catch {
    /* none */
  }
  const r = spawnSync("lxc-start", ["-d", "-P", LXC_PATH, "-n", String(vmid), "-o", logfile, "-l", "ERROR"], {
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    env: childEnv(),
  });
  if (r.error) throw die(`command 'lxc-start' failed: ${r.error.message}`);
  if (r.status !== 0 || !checkRunning(vmid)) {
    // lxc-start -d returns on ABORTING, while the monitor is still tearing down
    for (let i = 0; i < 100 && checkRunning(vmid); i++) spawnSync("sleep", ["0.05"]);
    removeStaleCgroups(vmid);
    const errors = cleanStartLog(vmid, readLog(logfile, r.stderr));
    // An init that ran and exited at once is a started CT to PVE (systemd's pve-container@ unit,
    // Type=simple, has started lxc-start -F), not a failed start: no ERROR lines in the log then
    // but the one -d prints when it saw STOPPING instead of RUNNING (which cleanStartLog drops).
    if (errors.length === 0) return;
    for (const l of errors) warn(l);
    throw die(`startup for container '${vmid}' failed`);
  }
}

/**
 * PVE::LXC::vm_stop
 * @param {string|number} vmid
 * @param {boolean} kill
 * @param {number} [shutdownTimeout]
 * @param {boolean} [forceStop]
 */
export async function vmStop(vmid, kill, shutdownTimeout, forceStop) {
  if (!checkRunning(vmid)) return;
  const cmd = ["lxc-stop", "-P", LXC_PATH, "-n", String(vmid)];
  let timeout = shutdownTimeout;
  if (kill) cmd.push("--kill");
  else {
    if (!forceStop) cmd.push("--nokill");
    if (timeout !== undefined) {
      cmd.push("--timeout", String(timeout));
      timeout += 5;
    }
  }
  let failed = false;
  try {
    runCommand(cmd, { timeout });
  } catch (e) {
    failed = true;
    warn(/** @type {Error} */ (e).message);
  }
  // wait for the monitor to go away (PVE: until the command socket closes)
  const deadline = Date.now() + (failed ? (timeout ?? 60) : 60) * 1000;
  while (Date.now() < deadline) {
    if (!checkRunning(vmid)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw die("container did not stop");
}

// ---------------------------------------------------------------------------------------------
// vmstatus

function readFile(p) {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

function cgroupDir(layout, controller, vmid) {
  if (controller === "unified") return layout.v2 ? join(layout.v2, "lxc", String(vmid)) : undefined;
  const base = layout.v2ctrl.has(controller) ? layout.v2 : layout.v1.get(controller);
  return base ? join(base, "lxc", String(vmid)) : undefined;
}

/**
 * PVE::LXC::vmstatus for the given CTs
 * @param {number[]} vmids
 */
export function vmstatus(vmids) {
  const layout = cgroupLayout();
  const uptimeHost = Number((readFile("/proc/uptime") ?? "0").split(" ")[0]);
  const netdev = readFile("/proc/net/dev") ?? "";
  /** @type {Record<number, Record<string, string|number>>} */
  const list = {};
  for (const vmid of vmids) {
    /** @type {Record<string, string|number>} */
    const d = { type: "lxc", vmid };
    const info = lxcInfo(vmid);
    const running = info.state !== "STOPPED";
    if (running && info.pid) d.pid = info.pid;
    d.status = running ? "running" : "stopped";
    const conf = readConfig(vmid) ?? {};
    d.name = String(conf.hostname || `CT${vmid}`).replace(/\s/g, "");
    d.cpus = conf.cores || conf.cpulimit || cpus().length;
    if (conf.tags !== undefined) d.tags = conf.tags;
    d.disk = 0;
    let maxdisk = 4 * 1024 ** 3;
    if (conf.rootfs) {
      try {
        maxdisk = parseVolume("rootfs", conf.rootfs).size || maxdisk;
      } catch {
        /* keep default */
      }
    }
    d.maxdisk = maxdisk;
    d.mem = 0;
    d.swap = 0;
    d.maxmem = Number(conf.memory || 512) * 1024 * 1024;
    d.maxswap = Number(conf.swap ?? 0) * 1024 * 1024;
    d.uptime = 0;
    d.netout = 0;
    d.netin = 0;
    d.diskread = 0;
    d.diskwrite = 0;
    if (conf.template) d.template = 1;
    if (conf.lock) d.lock = conf.lock;

    const pid = d.pid;
    if (pid) {
      try {
        const st = statfsSync(`/proc/${pid}/root/`);
        d.disk = (st.blocks - st.bfree) * st.bsize;
        d.maxdisk = st.blocks * st.bsize;
      } catch {
        /* raced with stop */
      }
      const stat = readFile(`/proc/${pid}/stat`);
      if (stat) {
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const start = Number(fields[19]); // starttime, field 22
        d.uptime = Math.trunc(uptimeHost - start / 100);
      }
      const memDir = cgroupDir(layout, "memory", vmid);
      if (memDir) {
        if (layout.v2ctrl.has("memory")) {
          d.mem = Number(readFile(join(memDir, "memory.current")) ?? 0);
          d.swap = Number(readFile(join(memDir, "memory.swap.current")) ?? 0);
        } else {
          const usage = Number(readFile(join(memDir, "memory.usage_in_bytes")) ?? 0);
          const cache = Number(/^total_cache (\d+)$/m.exec(readFile(join(memDir, "memory.stat")) ?? "")?.[1] ?? 0);
          const memsw = Number(readFile(join(memDir, "memory.memsw.usage_in_bytes")) ?? usage);
          d.mem = Math.max(usage - cache, 0);
          d.swap = Math.max(memsw - usage, 0);
        }
      }
      const psiDir = cgroupDir(layout, "unified", vmid);
      if (psiDir) {
        for (const res of ["cpu", "io", "memory"]) {
          const txt = readFile(join(psiDir, `${res}.pressure`));
          if (!txt) continue;
          for (const kind of ["some", "full"]) {
            const m = new RegExp(`^${kind} avg10=(\\S+)`, "m").exec(txt);
            if (m) d[`pressure${res}${kind}`] = /** @type {string} */ (m[1]);
          }
        }
      }
    }
    list[vmid] = d;
  }
  for (const line of netdev.split("\n")) {
    const m = /^\s*veth([1-9]\d*)i\d+:\s*(.*)$/.exec(line);
    if (!m) continue;
    const d = list[Number(m[1])];
    if (!d) continue;
    const f = /** @type {string} */ (m[2]).trim().split(/\s+/).map(Number);
    d.netout = Number(d.netout) + (f[0] ?? 0); // receive on the host end
    d.netin = Number(d.netin) + (f[8] ?? 0);
  }
  return list;
}

export function lxcConfigExists(vmid) {
  return existsSync(join(ctDir(vmid), "config"));
}

