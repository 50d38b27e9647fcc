import { lstatSync, statSync, type Stats } from "node:fs";
import { errnoText } from "../errno-text.js";
import { NexcageError } from "../errors.js";

/**
 * Who may have written what nexcage trusts: the root, a container's record directory, the config
 * cache. As OpenSSH does for its files: owned by root or by the calling user, writable by no one
 * else, and what it claims to be (a directory, a regular file; never a symlink). Anyone else able
 * to write there could plant a record (a victim's pid for `kill`) or a cached config (a runtime
 * path root then executes).
 */
export type TrustedKind = "directory" | "file";

/** The part of a stat that decides trust. */
export interface OwnerMode {
  readonly uid: number;
  /** st_mode with its file-type bits. */
  readonly mode: number;
}

const S_IFMT = 0o170000;
const TYPE_BITS: Readonly<Record<TrustedKind, number>> = { directory: 0o040000, file: 0o100000 };
const TYPE_NAMES: ReadonlyArray<[number, string]> = [
  [0o120000, "a symbolic link"],
  [0o040000, "a directory"],
  [0o100000, "a regular file"],
  [0o010000, "a fifo"],
  [0o020000, "a character device"],
  [0o060000, "a block device"],
  [0o140000, "a socket"],
];

/** Pure: why `st` cannot be trusted as a `kind` by user `euid`, or undefined when it can. */
export function trustProblem(st: OwnerMode, kind: TrustedKind, euid: number): string | undefined {
  const type = st.mode & S_IFMT;
  if (type !== TYPE_BITS[kind]) return `is ${TYPE_NAMES.find(([t]) => t === type)?.[1] ?? "not a " + kind}, not a ${kind}`;
  if (st.uid !== 0 && st.uid !== euid) return `is owned by uid ${st.uid}, not by root${euid === 0 ? "" : ` or uid ${euid}`}`;
  const writers = [(st.mode & 0o020) !== 0 ? "its group" : "", (st.mode & 0o002) !== 0 ? "others" : ""].filter(Boolean);
  if (writers.length > 0) return `is writable by ${writers.join(" and ")} (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")})`;
  return undefined;
}

const euid = (): number => process.geteuid?.() ?? 0;

/** A refusal; `wrongType`: the path is not a `kind` at all (a cache may take that as a miss). */
export class UntrustedError extends NexcageError {
  constructor(
    message: string,
    readonly wrongType: boolean,
  ) {
    super(message);
  }
}

/** Throws a one-line error when `st` is not trustworthy as `what`. */
function assertTrusted(st: Stats | OwnerMode, kind: TrustedKind, what: string): void {
  const problem = trustProblem(st, kind, euid());
  if (problem) throw new UntrustedError(`refusing ${what}: it ${problem}`, (st.mode & S_IFMT) !== TYPE_BITS[kind]);
}

/**
 * Checks `path`; false when it does not exist. A final symlink is refused unless `follow` (a
 * root given through a symlink is the directory it names). Other failures (a symlink loop, no
 * permission) are one line naming the path.
 */
export function checkTrustedPath(path: string, kind: TrustedKind, what: string, follow = false): boolean {
  let st: Stats;
  try {
    st = follow ? statSync(path) : lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    throw new NexcageError(`${what}: ${errnoText(e)}`);
  }
  assertTrusted(st, kind, what);
  return true;
}
