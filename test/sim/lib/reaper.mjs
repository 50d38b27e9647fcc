// @ts-check
// Not qemu-server's: started next to each QEMU the stand-in runs (`node reaper.mjs <pidfile>`); when
// the pid file's directory disappears (the simulated host's root was removed, e.g. by a test's
// cleanup), it ends that QEMU, so no guest outlives the run that made it. It exits with the QEMU.
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

const pidfile = process.argv[2] ?? "";
const pid = Number(readFileSync(pidfile, "utf8").trim());
/** still that QEMU (its argv names this pid file), not a process that got its pid since */
const alive = () => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(pidfile);
  } catch {
    return false;
  }
};
const timer = setInterval(() => {
  if (!alive()) return clearInterval(timer);
  if (!existsSync(dirname(pidfile))) {
    process.kill(pid, "SIGKILL");
    clearInterval(timer);
  }
}, 2000);
