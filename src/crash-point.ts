/**
 * Crash points: a test hook for the crash-consistency suites (e2e/crash-*.test.ts).
 *
 * With `NEXCAGE_TEST_CRASH_AT=<point>` in the environment, nexcage sends itself SIGKILL when it
 * reaches that point, exactly as `kill -9` from outside would stop it there; `<point>#<n>` stops
 * it the n-th time it gets there (a point passed more than once in one call, e.g. a record write).
 * Without the variable every call is one comparison against `undefined`: compiled in, inert.
 *
 * Each point sits at a step boundary of a lifecycle operation, where what is on disk and what the
 * backend holds differ from both the state before the operation and the state after it.
 */
export const CRASH_POINTS = [
  // runtime (src/runtime/runtime.ts), the id's lock held unless said otherwise
  "create:dir-made", // <root>/<id>/ made, no record yet
  "create:record-creating", // record `creating`, backend not called
  "create:backend-created", // backend's container exists, record still `creating`
  "create:record-created", // record `created`, lock not yet released
  "start:checked", // status checked, backend not called
  "start:backend-started", // backend started the container, record still `created`
  "kill:checked",
  "kill:backend-killed",
  "delete:checked",
  "delete:backend-deleted", // backend's container gone, record still there
  // records (src/state/store.ts)
  "store:temp-written", // temp file written and synced, not yet renamed over state.json
  // crun through libcrun (src/backends/crun/libcrun-backend.ts), lock released for the fork
  "libcrun:state-root-made",
  // proxmox-lxc (src/backends/proxmox-lxc/index.ts)
  "proxmox-lxc:intent-written", // intent file, no template yet
  "proxmox-lxc:template-packed", // template archive in the template storage, no CT
  "proxmox-lxc:vmid-chosen", // intent names the VMID, pct create not run
  "proxmox-lxc:ct-created", // CT exists, raw lxc lines not yet appended
  "proxmox-lxc:ct-started", // CT running, its pid not yet read
  "proxmox-lxc:attach-recorded", // attached create: the node directory recorded, not yet made
  "proxmox-lxc:proxy-started", // attached create: proxy running with the caller's stdio, pid file not written
  "proxmox-lxc:ct-destroyed", // CT destroyed, template archive still there
  // proxmox-vm (src/backends/proxmox-vm/index.ts)
  "proxmox-vm:intent-written", // intent file names the snippet, snippet not written
  "proxmox-vm:snippet-written", // cloud-init snippet on the node, no VMID chosen
  "proxmox-vm:vmid-chosen", // intent names the VMID, qm create/clone not run
  "proxmox-vm:vm-created", // VM created or cloned, not yet configured (qm set)
  "proxmox-vm:vm-configured", // every qm set done, record still `creating`
  "proxmox-vm:vm-started", // VM running, its pid not yet read
  "proxmox-vm:vm-destroyed", // VM destroyed, snippet still there
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

const target = parse(process.env["NEXCAGE_TEST_CRASH_AT"]);
let hits = 0;

function parse(value: string | undefined): { point: string; nth: number } | undefined {
  if (value === undefined || value === "") return undefined;
  const m = /^(.*)#([1-9][0-9]*)$/.exec(value);
  return m ? { point: m[1]!, nth: Number(m[2]) } : { point: value, nth: 1 };
}

/** Stops the process with SIGKILL here when NEXCAGE_TEST_CRASH_AT names this point (see above). */
export function crashPoint(point: CrashPoint): void {
  if (target === undefined || target.point !== point || ++hits < target.nth) return;
  process.kill(process.pid, "SIGKILL");
}
