import { lstatSync, readlinkSync } from "node:fs";
import { posix } from "node:path";
import { InvalidArgumentError } from "../../errors.js";

/** What the lookup needs of a file, by its host path (undefined: does not exist). */
export interface FileFacts {
  readonly symlink?: string;
  readonly regular: boolean;
  readonly mode: number;
}

const MAX_LINKS = 40;

/**
 * Pure: the host path that `path` names inside `root`, symlinks resolved as a chroot would (absolute
 * targets start again at `root`, `..` stops there), or undefined when it does not exist.
 */
export function resolveInRoot(root: string, path: string, facts: (hostPath: string) => FileFacts | undefined): { host: string; file: FileFacts } | undefined {
  const pending = path.split("/").filter(Boolean);
  const done: string[] = [];
  let links = 0;
  let file: FileFacts | undefined = { regular: false, mode: 0o755 };
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      done.pop();
      continue;
    }
    file = facts(posix.join(root, ...done, part));
    if (file === undefined) return undefined;
    if (file.symlink !== undefined) {
      if (++links > MAX_LINKS) return undefined;
      if (file.symlink.startsWith("/")) done.length = 0;
      pending.unshift(...file.symlink.split("/").filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return { host: posix.join(root, ...done), file };
}

/** Pure: PATH of the process's environment (runc's default when it sets none). */
export function pathOf(env: readonly string[]): string {
  const entry = [...env].reverse().find((e) => e.startsWith("PATH="));
  return entry !== undefined ? entry.slice(5) : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/**
 * Pure: checks that `args0` names an executable regular file in the rootfs, looked up as execvp
 * does (a name without `/` through PATH, else relative to cwd). The message is crun's.
 */
export function checkExecutable(root: string, args0: string, cwd: string, env: readonly string[], facts: (hostPath: string) => FileFacts | undefined): void {
  const candidates = args0.includes("/") ? [posix.resolve(cwd, args0)] : pathOf(env).split(":").filter(Boolean).map((d) => posix.join(posix.resolve(cwd, d), args0));
  let denied = false;
  for (const c of candidates) {
    const found = resolveInRoot(root, c, facts);
    if (found === undefined || !found.file.regular) continue;
    if ((found.file.mode & 0o111) !== 0) return;
    denied = true;
  }
  if (denied) throw new InvalidArgumentError(`open executable: Permission denied: \`${args0}\``);
  throw new InvalidArgumentError(`executable file \`${args0}\` not found in $PATH: No such file or directory`);
}

/** FileFacts of a host path, by lstat. */
export function hostFileFacts(hostPath: string): FileFacts | undefined {
  try {
    const st = lstatSync(hostPath);
    if (st.isSymbolicLink()) return { symlink: readlinkSync(hostPath), regular: false, mode: st.mode };
    return { regular: st.isFile(), mode: st.mode };
  } catch {
    return undefined;
  }
}
