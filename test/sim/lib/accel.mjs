#!/usr/bin/env node
// @ts-check
// Which accelerator the stand-in's QEMU uses: KVM where a Linux kernel boots under it, else TCG.
// /dev/kvm alone proves nothing: on a host whose KVM is nested by software (kvm_pvm), SeaBIOS runs
// but a stock Debian kernel hangs right after its real-mode setup. So a kernel (the guest image's,
// build/guest-image/vmlinuz) is booted once under KVM; if it prints its banner in time, KVM is used.
// The answer is kept per host boot in /run/pve-sim/accel.json (keyed by QEMU and kernel), so the probe
// costs one run of a few seconds. PVE_SIM_ACCEL=kvm|tcg overrides it.
//
// `node accel.mjs` prints the decision: `tcg (KVM present but a kernel did not boot under it)`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const QEMU = process.env["PVE_SIM_QEMU"] || "/usr/bin/qemu-system-x86_64";
const PROBE_KERNEL = process.env["PVE_SIM_PROBE_KERNEL"] || join(import.meta.dirname, "../../../build/guest-image/vmlinuz");
const CACHE = "/run/pve-sim/accel.json";
const PROBE_SECONDS = 30;

/** @typedef {{ accel: "kvm" | "tcg", reason: string }} Accel */

function cacheKey() {
  const qemu = spawnSync(QEMU, ["--version"], { encoding: "utf8" }).stdout?.split("\n")[0] ?? "";
  const kernel = existsSync(PROBE_KERNEL) ? `${PROBE_KERNEL}:${statSync(PROBE_KERNEL).size}:${statSync(PROBE_KERNEL).mtimeMs}` : "none";
  return `${qemu}|${kernel}`;
}

/** boots the probe kernel under KVM (no disk: it panics when it finds no root, which is fine) */
async function kernelBootsUnderKvm() {
  const dir = mkdtempSync(join(tmpdir(), "pve-sim-accel-"));
  const log = join(dir, "serial.log");
  try {
    const child = spawn(QEMU, ["-accel", "kvm", "-cpu", "kvm64", "-m", "256", "-nodefaults", "-display", "none", "-no-reboot", "-kernel", PROBE_KERNEL, "-append", "console=ttyS0 panic=-1", "-serial", `file:${log}`], { stdio: "ignore" });
    const end = Date.now() + PROBE_SECONDS * 1000;
    let booted = false;
    let exited = false;
    child.on("exit", () => (exited = true));
    while (Date.now() < end && !exited) {
      await new Promise((r) => setTimeout(r, 250));
      if (existsSync(log) && /Linux version/.test(readFileSync(log, "latin1"))) {
        booted = true;
        break;
      }
    }
    child.kill("SIGKILL");
    return booted;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** @returns {Promise<Accel>} */
async function probe() {
  if (!existsSync("/dev/kvm")) return { accel: "tcg", reason: "no /dev/kvm" };
  if (!existsSync(PROBE_KERNEL)) return { accel: "kvm", reason: `/dev/kvm present; not probed (no kernel at ${PROBE_KERNEL})` };
  return (await kernelBootsUnderKvm()) ? { accel: "kvm", reason: "a kernel boots under KVM" } : { accel: "tcg", reason: "KVM present but a kernel did not boot under it" };
}

/** @returns {Promise<Accel>} */
export async function accelerator() {
  const forced = process.env["PVE_SIM_ACCEL"];
  if (forced === "kvm" || forced === "tcg") return { accel: forced, reason: "PVE_SIM_ACCEL" };
  const key = cacheKey();
  try {
    const cached = JSON.parse(readFileSync(CACHE, "utf8"));
    if (cached.key === key) return { accel: cached.accel, reason: cached.reason };
  } catch {
    /* not probed yet on this boot */
  }
  const a = await probe();
  mkdirSync("/run/pve-sim", { recursive: true });
  writeFileSync(`${CACHE}.${process.pid}`, JSON.stringify({ key, ...a }));
  renameSync(`${CACHE}.${process.pid}`, CACHE);
  return a;
}

if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  const a = await accelerator();
  process.stdout.write(`${a.accel} (${a.reason})\n`);
}
