import { posix } from "node:path";
import { mountinfoLines, unescapeMountField } from "../proc/mountinfo.js";

/**
 * Which cgroup directories an OCI runtime (cgroupfs driver) makes for a container, from the
 * mounted hierarchies (/proc/self/mountinfo) and our own cgroups (/proc/self/cgroup). Used to find
 * what a create that was killed or timed out left, when the runtime has no state to delete it by.
 *
 * Where the path is anchored differs by runtime (measured with Debian 12's crun 1.8 and runc 1.1):
 * crun puts `linux.cgroupsPath` (relative or not) and its default `/<id>` at the hierarchy's root;
 * runc puts an absolute path at the root but a relative one, and its default `<id>`, under the
 * cgroup of the process that ran it (ours).
 */
export type CgroupBase = "root" | "caller";

export interface CgroupMount {
  /** Where the hierarchy is mounted (octal escapes decoded). */
  readonly mountPoint: string;
  /** The cgroup path of the mount's root inside its hierarchy (mountinfo's 4th field). */
  readonly root: string;
  /** v1: the controllers and name= options it was mounted with; v2: empty. */
  readonly controllers: readonly string[];
  readonly version: 1 | 2;
}

/** Mount options of a v1 cgroup mount that are not controllers. */
const NOT_CONTROLLERS = new Set(["rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "nsdelegate", "memory_recursiveprot"]);

/** The cgroup hierarchies in mountinfo text, one per superblock (bind mounts of the same one dropped). */
export function cgroupMounts(mountinfo: string): CgroupMount[] {
  const seen = new Set<string>();
  const out: CgroupMount[] = [];
  for (const { pre, post } of mountinfoLines(mountinfo)) {
    const [fstype, , superOpts = ""] = post;
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const device = pre[2];
    const root = pre[3];
    const mountPoint = pre[4];
    if (device === undefined || root === undefined || mountPoint === undefined || seen.has(device)) continue;
    seen.add(device);
    const version = fstype === "cgroup2" ? 2 : 1;
    const controllers = version === 2 ? [] : superOpts.split(",").filter((o) => o !== "" && !NOT_CONTROLLERS.has(o) && !o.startsWith("release_agent="));
    out.push({ mountPoint: unescapeMountField(mountPoint), root: unescapeMountField(root), controllers, version });
  }
  return out;
}

/** /proc/<pid>/cgroup lines: `<hierarchy>:<controllers>:<path>`. */
export function parseProcCgroup(text: string): Array<{ controllers: readonly string[]; path: string }> {
  const out = [];
  for (const line of text.split("\n")) {
    const m = /^[0-9]+:([^:]*):(.*)$/.exec(line);
    if (m) out.push({ controllers: m[1] === "" ? [] : m[1]!.split(","), path: m[2]! });
  }
  return out;
}

/** Our own cgroup path in the hierarchy `m` is a mount of, if /proc/self/cgroup names it. */
function ownPath(m: CgroupMount, own: ReturnType<typeof parseProcCgroup>): string | undefined {
  const line = own.find((l) =>
    m.version === 2 ? l.controllers.length === 0 : l.controllers.length > 0 && l.controllers.every((c) => m.controllers.includes(c)) && m.controllers.every((c) => l.controllers.includes(c)),
  );
  return line?.path;
}

export interface ContainerCgroup {
  readonly id: string;
  /** The spec's linux.cgroupsPath, when it has one. */
  readonly cgroupsPath?: string;
  readonly base: CgroupBase;
}

/**
 * The directories the container's cgroup has under each mounted hierarchy. Left out: a path that
 * would be a hierarchy's root, ours or one of our ancestors (removing it would kill this process or
 * everything), and one outside what the mount shows.
 */
export function containerCgroupDirs(mountinfo: string, selfCgroup: string, c: ContainerCgroup): string[] {
  const own = parseProcCgroup(selfCgroup);
  const given = c.cgroupsPath !== undefined && c.cgroupsPath !== "" ? c.cgroupsPath : undefined;
  const out: string[] = [];
  for (const m of cgroupMounts(mountinfo)) {
    const mine = ownPath(m, own);
    let path: string;
    if (given?.startsWith("/") || (c.base === "root" && given !== undefined)) path = posix.resolve("/", given!);
    else if (c.base === "root") path = posix.join("/", c.id);
    else {
      if (mine === undefined) continue;
      path = posix.resolve(mine, given ?? c.id);
    }
    if (path === "/") continue;
    if (mine !== undefined && (mine === path || mine.startsWith(`${path}/`))) continue;
    const rel = m.root === "/" ? path : path.startsWith(`${m.root}/`) ? path.slice(m.root.length) : undefined;
    if (rel === undefined) continue;
    out.push(posix.join(m.mountPoint, rel));
  }
  return out;
}
