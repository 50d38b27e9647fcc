import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { errnoText } from "./errno-text.js";

/**
 * Reading a file nexcage was pointed at (--config, a bundle's config.json, a record) as a regular
 * file of bounded size: a fifo would block forever, /dev/zero would be read until memory runs out,
 * a huge file would be copied into every record. The file is opened non-blocking (a fifo without a
 * writer opens at once), then fstat of that very descriptor decides: only a regular file no larger
 * than `limit` is read, and reading stops at the limit should it grow meanwhile.
 */
export class FileReadError extends Error {
  constructor(
    /** The errno code when the open or read failed (ENOENT...), undefined for a wrong type or size. */
    readonly code: string | undefined,
    /** One line without the path: "no such file or directory", "is a fifo, not a regular file". */
    readonly reason: string,
  ) {
    super(reason);
  }
}

const KIND: ReadonlyArray<[(s: ReturnType<typeof fstatSync>) => boolean, string]> = [
  [(s) => s.isDirectory(), "is a directory"],
  [(s) => s.isFIFO(), "is a fifo, not a regular file"],
  [(s) => s.isCharacterDevice(), "is a character device, not a regular file"],
  [(s) => s.isBlockDevice(), "is a block device, not a regular file"],
  [(s) => s.isSocket(), "is a socket, not a regular file"],
];

/** "1 MiB", "4 MiB", "512 KiB". */
function sizeText(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

export interface ReadOptions {
  readonly limit: number;
  /** false: a symlink as the last component is refused (ELOOP) instead of followed. */
  readonly followSymlink?: boolean;
}

/** The file's text; FileReadError when it cannot be opened, is not a regular file or is too large. */
export function readRegularFile(path: string, opts: ReadOptions): string {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (opts.followSymlink === false ? constants.O_NOFOLLOW : 0);
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP" && opts.followSymlink === false) throw new FileReadError(code, "is a symbolic link (or a symlink loop)");
    throw new FileReadError(code, errnoText(e));
  }
  try {
    const st = fstatSync(fd);
    const wrong = KIND.find(([is]) => is(st));
    if (wrong || !st.isFile()) throw new FileReadError(undefined, wrong?.[1] ?? "is not a regular file");
    const tooLarge = new FileReadError(undefined, `is larger than ${sizeText(opts.limit)}`);
    if (st.size > opts.limit) throw tooLarge;
    // sized by fstat, grown should the file grow while it is read, never beyond limit + 1
    let buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > opts.limit) throw tooLarge;
        buf = Buffer.concat([buf, Buffer.allocUnsafe(Math.min(buf.length, opts.limit + 1 - buf.length))]);
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > opts.limit) throw tooLarge;
    return buf.toString("utf8", 0, n);
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    throw new FileReadError((e as NodeJS.ErrnoException).code, errnoText(e));
  } finally {
    closeSync(fd);
  }
}
