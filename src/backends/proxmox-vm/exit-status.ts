import { parseSignal } from "../../oci/signals.js";

/**
 * The status disk: a small raw disk (`virtio15`, serial nexcage-status) on which the guest's stop
 * hook writes how the bundle's process ended, one line `nexcage-exit <EXIT_CODE> <EXIT_STATUS>` with
 * systemd's values for the service. It outlives the guest's power-off, so the host can read it
 * (`pvesm export`) once the VM has stopped.
 */
export const STATUS_DISK_KEY = "virtio15";
export const STATUS_DISK_SERIAL = "nexcage-status";
/** Where that disk appears in the guest (udev's by-id name for a virtio disk with a serial). */
export const STATUS_DISK_GUEST_PATH = `/dev/disk/by-id/virtio-${STATUS_DISK_SERIAL}`;
/** Size in GiB, as qm takes it for a new disk (about 1 MiB). */
export const STATUS_DISK_GIB = "0.001";

/** The exit code of a process SIGKILLed from outside (qm stop), as runc reports it. */
export const KILLED_EXIT_CODE = 128 + 9;

/**
 * Pure: the exit code a shell (and runc) would report for the record on the status disk: `exited N`
 * is N; `killed SIG`/`dumped SIG` is 128 + the signal's number. undefined when the disk holds no
 * record (the process never ended inside the guest: the VM was stopped, or never started it).
 */
export function exitCodeOf(disk: string): number | undefined {
  const m = /nexcage-exit (exited|killed|dumped) ([A-Za-z0-9+-]+)\n/.exec(disk);
  if (!m) return undefined;
  if (m[1] === "exited") {
    const n = Number(m[2]);
    return Number.isInteger(n) && n >= 0 && n <= 255 ? n : undefined;
  }
  try {
    return 128 + parseSignal(m[2]!).number;
  } catch {
    return undefined;
  }
}
