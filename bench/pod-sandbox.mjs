#!/usr/bin/env node
// Pod sandbox bench: what a Kubernetes pod's sandbox costs nexcage as a Proxmox CT (proxmox-lxc on
// the pct stand-in in test/sim, real LXC) against the same sandbox on crun: `create --bundle B
// --pid-file P ID` + `start ID` as containerd's shim calls them, the spec a CRI sandbox's (CRI
// annotations, the pod's network namespace by path, /dev/shm bind), routed by a `root` rule.
//
//   node bench/pod-sandbox.mjs [--runs N]        (default 5; needs root, lxc, crun, busybox-static, ip)
//
// Prints the median and p90 of create, start and both per backend; asserts nothing. Exit status 0
// when every call succeeded, 1 when one failed (its stderr printed), 2 on bad usage. Every sandbox is
// `delete --force`d by id; the netns and the temp dir are removed at the end.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { cell, loadavg, parseBenchArgs, table } from "./common.mjs";
import { readFileSync } from "node:fs";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const NEXCAGE = join(REPO, "dist", "nexcage.mjs");
const SIM = join(REPO, "test", "sim", "bin");
const opts = { runs: 5 };
parseBenchArgs(process.argv.slice(2), { counts: { "--runs": 1 } }, opts, (msg) => {
  if (msg) process.stderr.write(`pod-sandbox: ${msg}\n`);
  process.stderr.write("usage: node bench/pod-sandbox.mjs [--runs N]\n");
  process.exit(2);
});

const tmp = mkdtempSync(join(tmpdir(), "nexcage-bench-pods-"));
chmodSync(tmp, 0o755);
const simRoot = join(tmp, "pve");
mkdirSync(simRoot, { mode: 0o755 });
const netns = `nexcage-bench-${process.pid}`;
const base = 870_000_000 + (process.pid % 10_000) * 100;
const env = { ...process.env, PVE_SIM_ROOT: simRoot };
const config = join(tmp, "config.json");
writeFileSync(
  config,
  JSON.stringify({
    defaultBackend: "crun",
    routing: [{ name: "pods-as-cts", root: `${tmp}/pct*`, backend: "proxmox-lxc" }],
    backends: {
      crun: { driver: "cli" },
      "proxmox-lxc": {
        pct: join(SIM, "pct"), pvesh: join(SIM, "pvesh"), storage: "ctstore", rootfsSizeGiB: 1,
        templateDir: join(simRoot, "var/lib/vz/template/cache"), confDir: join(simRoot, "etc/pve/lxc"),
        lockDir: join(simRoot, "run/lock/lxc"), vmidRange: { min: base, max: base + 99 }, runDir: join(simRoot, "run/nexcage-ct"),
      },
    },
  }),
);

function bundle() {
  const b = join(tmp, "bundle");
  mkdirSync(join(b, "rootfs", "bin"), { recursive: true });
  for (const d of ["proc", "sys", "dev", "tmp", "etc"]) mkdirSync(join(b, "rootfs", d), { recursive: true });
  copyFileSync("/bin/busybox", join(b, "rootfs", "bin", "busybox"));
  chmodSync(join(b, "rootfs", "bin", "busybox"), 0o755);
  symlinkSync("busybox", join(b, "rootfs", "bin", "sleep"));
  const shm = join(tmp, "shm");
  mkdirSync(shm);
  const spec = JSON.parse((spawnSync("/usr/bin/crun", ["spec"], { cwd: b }), readFileSync(join(b, "config.json"), "utf8")));
  spec.process.terminal = false;
  spec.process.args = ["sleep", "100000"];
  spec.hostname = "bench-pod";
  spec.root.readonly = false;
  spec.annotations = { "io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-name": "bench-pod", "io.kubernetes.cri.sandbox-namespace": "bench" };
  spec.linux = { namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network", path: `/var/run/netns/${netns}` }] };
  spec.mounts = [...spec.mounts.filter((m) => m.destination !== "/dev/shm"), { destination: "/dev/shm", type: "bind", source: shm, options: ["rbind", "rw"] }];
  writeFileSync(join(b, "config.json"), JSON.stringify(spec));
  return b;
}

function nexcage(root, args) {
  const out = openSync(join(tmp, "out"), "w");
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [NEXCAGE, "--root", root, "--config", config, ...args], { stdio: ["ignore", out, out], env });
  const ms = performance.now() - t0;
  closeSync(out);
  if (r.status !== 0) {
    process.stderr.write(`nexcage ${args.join(" ")}: exit ${r.status}\n${readFileSync(join(tmp, "out"), "utf8")}`);
    failed = true;
  }
  return ms;
}

let failed = false;
const made = [];
try {
  if (spawnSync("ip", ["netns", "add", netns]).status !== 0) throw new Error(`ip netns add ${netns} failed`);
  spawnSync(join(SIM, "pct"), ["list"], { env });
  const b = bundle();
  const variants = [
    { name: "proxmox-lxc (CT)", root: join(tmp, "pct", "k8s.io") },
    { name: "crun", root: join(tmp, "runc", "k8s.io") },
  ];
  const figures = new Map(variants.map((v) => [v.name, { create: [], start: [], both: [] }]));
  for (let i = 0; i < opts.runs && !failed; i++) {
    for (const v of variants) {
      const id = `bench-sb-${process.pid}-${i}`;
      made.push([v.root, id]);
      const c = nexcage(v.root, ["create", "--bundle", b, "--pid-file", join(tmp, `${id}.pid`), id]);
      const s = nexcage(v.root, ["start", id]);
      const f = figures.get(v.name);
      f.create.push(c);
      f.start.push(s);
      f.both.push(c + s);
      nexcage(v.root, ["delete", "--force", id]);
    }
  }
  process.stdout.write(`pod sandbox create + start, ${opts.runs} runs each (ms, median / p90); load ${loadavg(readFileSync)}\n`);
  process.stdout.write(table(["backend", "create", "start", "create+start"], variants.map((v) => [v.name, cell(figures.get(v.name).create), cell(figures.get(v.name).start), cell(figures.get(v.name).both)])));
} finally {
  for (const [root, id] of made) spawnSync(process.execPath, [NEXCAGE, "--root", root, "--config", config, "delete", "--force", id], { stdio: "ignore", env });
  spawnSync("ip", ["netns", "delete", netns]);
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
