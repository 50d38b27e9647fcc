import { readFileSync } from "node:fs";

/** Pure: the name of a uid in /etc/passwd text (the first matching line), as runc's `list` shows it. */
export function passwdName(passwd: string, uid: number): string | undefined {
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f.length >= 3 && f[0] && !f[0].startsWith("#") && f[2] === String(uid)) return f[0];
  }
  return undefined;
}

/**
 * The name of the user running nexcage, for the record's `owner` (the OWNER column of `list`): from
 * /etc/passwd as runc does (os.userInfo() is not used: the Bun runtime of the single binary answers
 * "unknown" there), else the numeric uid.
 */
export function ownerName(uid: number = process.getuid?.() ?? 0, passwdFile = "/etc/passwd"): string {
  let passwd = "";
  try {
    passwd = readFileSync(passwdFile, "utf8");
  } catch {
    // no passwd file: the uid it is
  }
  return passwdName(passwd, uid) ?? String(uid);
}
