#!/usr/bin/env node
// @ts-check
// What `qm start` runs in place of QEMU: a long-lived process with a recognisable argv
// (`kvm -id <vmid> -name <name> ...`), so the VM's host pid, its start time, signals and exits are
// all real. There is no guest; the process reacts as QEMU's would to what qm sends it:
//   SIGUSR1  the stand-in's "system_powerdown" (ACPI button): the guest powers off after a moment,
//            unless the VM has `acpi: 0` (then, as a guest without ACPI, it ignores the request);
//   SIGTERM  QMP `quit` / SIGTERM: QEMU exits at once;
//   SIGSTOP / SIGCONT  vCPUs paused / resumed (`qm suspend` / `qm resume`).
// Unlike QEMU it also exits when the directory of its pid file disappears (a test's simulated host
// was removed), so no stand-in outlives the run that made it.
import { existsSync } from "node:fs";
import { dirname } from "node:path";

const args = process.argv.slice(2);
const pidfile = args[args.indexOf("-pidfile") + 1] ?? "";
const acpi = args[args.indexOf("-acpi") + 1] !== "off";
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
process.on("SIGHUP", () => {});
process.on("SIGUSR1", () => {
  if (acpi) setTimeout(() => process.exit(0), 200);
});
// not QEMU's: when the simulated host's run directory is removed (a test run's root deleted), go too
setInterval(() => {
  if (!existsSync(dirname(pidfile))) process.exit(0);
}, 2000);
