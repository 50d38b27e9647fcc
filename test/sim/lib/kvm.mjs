// @ts-check
// qemu-server's config_to_command and vm_start, reduced: the VM config becomes the argv of a real
// QEMU (Debian's qemu-system-x86_64, run as `kvm`), started with -daemonize so that `qm start`
// returns once QEMU is up, its pid in /var/run/qemu-server/<vmid>.pid and its QMP socket, guest-agent
// channel and serial consoles next to it. Differences from qemu-server (see ../README.md): no `-id`
// (a Proxmox patch to QEMU; the pid file names the VM), user-mode networking instead of a tap on a
// bridge, the accelerator chosen by accel.mjs, and a log of serial0 next to its socket.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { die, print } from "./io.mjs";
import { ROOT, mkdirp } from "./env.mjs";
import { QEMU, accelerator } from "./accel.mjs";
import { isCdrom, isDriveKey, parseDrive, parseNet } from "./qmconf.mjs";
import { volumePath } from "./storage.mjs";

export const RUN_DIR = () => join(ROOT, "var/run/qemu-server");
export const pidFile = (vmid) => join(RUN_DIR(), `${vmid}.pid`);
export const qmpSocket = (vmid) => join(RUN_DIR(), `${vmid}.qmp`);
export const qgaSocket = (vmid) => join(RUN_DIR(), `${vmid}.qga`);
const REAPER = join(import.meta.dirname, "reaper.mjs");

/** `agent: 1` / `agent: enabled=1,...` */
export function agentEnabled(conf) {
  if (conf.agent === undefined) return false;
  const first = String(conf.agent).split(",")[0] ?? "";
  const v = first.startsWith("enabled=") ? first.slice(8) : first.includes("=") ? "1" : first;
  return ["1", "yes", "on", "true"].includes(v.toLowerCase());
}

const NIC_DEVICE = { virtio: "virtio-net-pci", e1000: "e1000", e1000e: "e1000e", rtl8139: "rtl8139", vmxnet3: "vmxnet3" };
const SCSI_HW = { lsi: "lsi", lsi53c810: "lsi53c810", "virtio-scsi-pci": "virtio-scsi-pci", "virtio-scsi-single": "virtio-scsi-pci", megasas: "megasas", pvscsi: "pvscsi" };

/**
 * The QEMU argv for the VM (config_to_command).
 * @param {any} cfg storage.cfg
 * @param {number} vmid
 * @param {Record<string, any>} conf
 * @param {"kvm"|"tcg"} accel
 */
export function kvmCommand(cfg, vmid, conf, accel) {
  const run = RUN_DIR();
  const sockets = Number(conf.sockets ?? 1);
  const cores = Number(conf.cores ?? 1);
  const mem = /(\d+)$/.exec(String(conf.memory ?? "512"))?.[1] ?? "512";
  const acpi = conf.acpi === undefined || !["0", "no", "off", "false"].includes(String(conf.acpi));
  const cmd = [
    "-name", `${conf.name ?? `VM ${vmid}`},debug-threads=on`,
    "-chardev", `socket,id=qmp,path=${qmpSocket(vmid)},server=on,wait=off`,
    "-mon", "chardev=qmp,mode=control",
    "-pidfile", pidFile(vmid),
    "-daemonize",
  ];
  if (conf.smbios1) cmd.push("-smbios", `type=1,${conf.smbios1}`);
  cmd.push(
    "-smp", `${sockets * cores},sockets=${sockets},cores=${cores},maxcpus=${sockets * cores}`,
    "-nodefaults",
    "-boot", "menu=on,strict=on,reboot-timeout=1000",
    "-vnc", `unix:${join(run, `${vmid}.vnc`)}`,
    "-cpu", accel === "kvm" ? "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep" : "qemu64",
    "-m", mem,
    "-machine", `type=pc,accel=${accel}${acpi ? "" : ",acpi=off"}`,
  );
  if (agentEnabled(conf)) {
    cmd.push(
      "-chardev", `socket,path=${qgaSocket(vmid)},server=on,wait=off,id=qga0`,
      "-device", "virtio-serial,id=qga0",
      "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
    );
  }
  for (let i = 0; i < 4; i++) {
    if (conf[`serial${i}`] !== "socket") continue;
    cmd.push("-chardev", `socket,id=serial${i},path=${join(run, `${vmid}.serial${i}`)},server=on,wait=off,logfile=${join(run, `${vmid}.serial${i}.log`)}`, "-device", `isa-serial,chardev=serial${i}`);
  }
  const order = (/order=([^,]+)/.exec(String(conf.boot ?? ""))?.[1] ?? "").split(";").filter(Boolean);
  const bootindex = (key) => (order.includes(key) ? `,bootindex=${100 + order.indexOf(key)}` : "");
  const drives = Object.keys(conf).filter(isDriveKey).sort();
  if (drives.some((k) => k.startsWith("scsi"))) cmd.push("-device", `${SCSI_HW[String(conf.scsihw ?? "lsi")] ?? "lsi"},id=scsihw0`);
  if (drives.some((k) => k.startsWith("sata"))) cmd.push("-device", "ahci,id=ahci0,multifunction=on");
  for (const key of drives) {
    const d = parseDrive(String(conf[key]));
    if (d.file === "none") continue;
    const cdrom = isCdrom(d);
    const path = d.file === "cdrom" ? undefined : volumePath(cfg, /** @type {string} */ (d.file));
    const fmt = d.format ?? (path?.endsWith(".qcow2") ? "qcow2" : "raw");
    cmd.push("-drive", path ? `file=${path},if=none,id=drive-${key},format=${fmt}${cdrom ? ",media=cdrom" : ",discard=on"}` : `if=none,id=drive-${key},media=cdrom`);
    const n = Number(/\d+$/.exec(key)?.[0]);
    const dev = key.startsWith("scsi")
      ? `${cdrom ? "scsi-cd" : "scsi-hd"},bus=scsihw0.0,channel=0,scsi-id=0,lun=${n}`
      : key.startsWith("virtio")
        ? "virtio-blk-pci"
        : key.startsWith("sata")
          ? `${cdrom ? "ide-cd" : "ide-hd"},bus=ahci0.${n}`
          : `${cdrom ? "ide-cd" : "ide-hd"},bus=ide.${Math.floor(n / 2)},unit=${n % 2}`;
    cmd.push("-device", `${dev},drive=drive-${key},id=${key}${d.serial ? `,serial=${d.serial}` : ""}${bootindex(key)}`);
  }
  for (const key of Object.keys(conf).filter((k) => /^net\d+$/.test(k)).sort()) {
    const net = parseNet(String(conf[key]));
    cmd.push("-netdev", `user,id=${key}`, "-device", `${NIC_DEVICE[net.model] ?? net.model},mac=${net.macaddr},netdev=${key},id=${key}${bootindex(key)}`);
  }
  return cmd;
}

/** vm_start's launch: QEMU daemonizes once the VM is set up; its failure is the task's error */
export async function startKvm(cfg, vmid, conf) {
  mkdirp(RUN_DIR());
  const { accel } = await accelerator();
  const args = kvmCommand(cfg, vmid, conf, accel);
  const child = spawn(QEMU, args, { argv0: "kvm", stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  const code = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0) {
    if (stderr) print(stderr);
    throw die(`start failed: QEMU exited with code ${code}`);
  }
  // not qemu-server's: a QEMU whose simulated host was removed (a test run's root deleted) is ended
  spawn(process.execPath, [REAPER, pidFile(vmid)], { detached: true, stdio: "ignore" }).unref();
}
