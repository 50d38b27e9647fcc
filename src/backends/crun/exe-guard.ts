import { readFileSync, realpathSync } from "node:fs";
import { mountinfoLines, unescapeMountField } from "../../proc/mountinfo.js";

/**
 * CVE-2019-5736: a container whose entrypoint resolves to /proc/self/exe runs the runtime's own
 * executable inside the container and can open it for writing once the runtime has exited. crun
 * protects itself with a load-time constructor in libcrun that re-executes the process from a sealed
 * memfd copy; nexcage's libcrun is built without it (it would re-execute node). The libcrun driver,
 * whose create forks this very process into the container's init, is therefore only used when this
 * executable cannot be written through /proc/self/exe: when it lives on a read-only mount (the DEB
 * and the tests use a read-only bind mount). Otherwise the crun CLI, which keeps crun's own
 * protection, does the work.
 */
export interface ExecutableProtection {
  readonly protected: boolean;
  readonly reason: string;
}

interface Mount {
  readonly mountPoint: string;
  readonly readOnly: boolean;
}

/** Parses /proc/self/mountinfo into mount points and whether each is read-only (mount or superblock). */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const { pre, post } of mountinfoLines(text)) {
    const mountPoint = pre[4];
    const mountOptions = pre[5];
    const superOptions = post[2];
    if (mountPoint === undefined || mountOptions === undefined) continue;
    const ro = mountOptions.split(",").includes("ro") || (superOptions ?? "").split(",").includes("ro");
    mounts.push({ mountPoint: unescapeMountField(mountPoint), readOnly: ro });
  }
  return mounts;
}

/** The mount a path lives on: the longest mount point containing it, the latest one when stacked. */
export function mountFor(path: string, mounts: readonly Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const contains = mp === "/" || path === mp || path.startsWith(mp.endsWith("/") ? mp : `${mp}/`);
    if (contains && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** Pure decision from the executable's real path and the mount table. */
export function executableProtection(realExecPath: string, mountinfo: string): ExecutableProtection {
  const mount = mountFor(realExecPath, parseMountinfo(mountinfo));
  if (!mount) return { protected: false, reason: `cannot find the mount of ${realExecPath}` };
  if (mount.readOnly) return { protected: true, reason: `${realExecPath} is on a read-only mount (${mount.mountPoint})` };
  return {
    protected: false,
    reason: `${realExecPath} is on a writable mount (${mount.mountPoint}); a container could overwrite it through /proc/self/exe (CVE-2019-5736)`,
  };
}

export function currentExecutableProtection(): ExecutableProtection {
  try {
    return executableProtection(realpathSync(process.execPath), readFileSync("/proc/self/mountinfo", "utf8"));
  } catch (e) {
    return { protected: false, reason: `cannot check ${process.execPath}: ${(e as Error).message}` };
  }
}
