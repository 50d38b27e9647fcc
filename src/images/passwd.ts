import { BackendError } from "../errors.js";

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

const NUM = /^[0-9]{1,10}$/;

/** /etc/passwd lines `name:x:uid:gid:gecos:home:shell`; malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || f[0] === "" || !NUM.test(f[2]!) || !NUM.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) });
  }
  return out;
}

/** /etc/group lines `name:x:gid:member,member`. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 3 || f[0] === "" || !NUM.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? "").split(",").filter(Boolean) });
  }
  return out;
}

export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
}

/**
 * An image's `User` (`""`, `name`, `uid`, `name:group`, `uid:gid`) resolved against its own
 * /etc/passwd and /etc/group, as container engines do: a numeric uid need not exist; a name must;
 * the primary group defaults to the passwd entry's (0 when the uid has none); supplementary groups
 * are the groups listing the user by name.
 */
export function resolveUser(user: string, passwd: readonly PasswdEntry[], groups: readonly GroupEntry[]): ResolvedUser {
  if (user === "") return { uid: 0, gid: 0, additionalGids: [] };
  const [u, g, extra] = user.split(":");
  if (extra !== undefined || u === "" || g === "") throw new BackendError(`image user ${JSON.stringify(user)} is not user[:group]`);
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (NUM.test(u!)) {
    uid = Number(u);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === u);
    if (!entry) throw new BackendError(`image user ${JSON.stringify(u)} is not in the image's /etc/passwd`);
    uid = entry.uid;
  }
  let gid: number;
  if (g === undefined) gid = entry?.gid ?? 0;
  else if (NUM.test(g)) gid = Number(g);
  else {
    const ge = groups.find((x) => x.name === g);
    if (!ge) throw new BackendError(`image group ${JSON.stringify(g)} is not in the image's /etc/group`);
    gid = ge.gid;
  }
  const additionalGids = entry && g === undefined ? [...new Set(groups.filter((x) => x.members.includes(entry!.name) && x.gid !== gid).map((x) => x.gid))] : [];
  if (uid > 4294967294 || gid > 4294967294) throw new BackendError(`image user ${JSON.stringify(user)} is out of range`);
  return { uid, gid, additionalGids };
}
