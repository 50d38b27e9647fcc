import { closeSync, openSync, readSync } from "node:fs";

const BLOCK = 512;
/** Members larger than this are never read into memory (index.json and oci-layout are tiny). */
const MAX_MEMBER = 1 << 20;

export interface TarHeader {
  readonly name: string;
  readonly size: number;
  /** `0`/NUL regular file, `5` directory, `x`/`g` pax, `L` GNU long name, … */
  readonly type: string;
}

function cString(b: Buffer, start: number, len: number): string {
  const slice = b.subarray(start, start + len);
  const end = slice.indexOf(0);
  return slice.subarray(0, end < 0 ? len : end).toString("utf8");
}

function numeric(b: Buffer, start: number, len: number): number | undefined {
  if (b[start]! & 0x80) {
    // base-256 (GNU) for large sizes
    let n = 0;
    for (let i = start + 1; i < start + len; i++) n = n * 256 + b[i]!;
    return n;
  }
  const text = cString(b, start, len).trim();
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : text === "" ? 0 : undefined;
}

/**
 * Pure: one 512-byte tar header (ustar, GNU, pax). Undefined for the zero block that ends an archive;
 * throws on a header whose checksum or size field is wrong.
 */
export function parseTarHeader(b: Buffer): TarHeader | undefined {
  if (b.length < BLOCK) throw new Error("short tar header");
  if (b.subarray(0, BLOCK).every((x) => x === 0)) return undefined;
  const sum = numeric(b, 148, 8);
  let actual = 0;
  for (let i = 0; i < BLOCK; i++) actual += i >= 148 && i < 156 ? 32 : b[i]!;
  if (sum === undefined || sum !== actual) throw new Error("not a tar archive (bad header checksum)");
  const size = numeric(b, 124, 12);
  if (size === undefined) throw new Error("not a tar archive (bad size field)");
  let name = cString(b, 0, 100);
  if (cString(b, 257, 5) === "ustar") {
    const prefix = cString(b, 345, 155);
    if (prefix !== "") name = `${prefix}/${name}`;
  }
  return { name: name.replace(/^\.\//, ""), size, type: String.fromCharCode(b[156]!) };
}

/**
 * The contents of the wanted top-level members of an uncompressed tar, read by seeking from header
 * to header (the data of other members is never read). Missing members are absent from the result;
 * a file that is not a tar gives an empty result.
 */
export function readTarMembers(path: string, wanted: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return out;
  }
  try {
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    while (out.size < wanted.length) {
      if (readSync(fd, header, 0, BLOCK, pos) < BLOCK) break;
      const h = parseTarHeader(header);
      if (!h) break;
      pos += BLOCK;
      if ((h.type === "0" || h.type === "\0") && wanted.includes(h.name) && h.size <= MAX_MEMBER) {
        const data = Buffer.alloc(h.size);
        if (readSync(fd, data, 0, h.size, pos) === h.size) out.set(h.name, data.toString("utf8"));
      }
      pos += Math.ceil(h.size / BLOCK) * BLOCK;
    }
  } catch {
    // not a tar (or truncated): what was found so far
  } finally {
    closeSync(fd);
  }
  return out;
}

/** An uncompressed tar holding `oci-layout` and `index.json` (how pve-container tells OCI archives from rootfs templates), with its manifest digest when it holds one image. */
export function ociArchiveInfo(path: string): { digest?: string } | undefined {
  if (!/\.tar$/i.test(path)) return undefined;
  const m = readTarMembers(path, ["oci-layout", "index.json"]);
  const index = m.get("index.json");
  if (!m.has("oci-layout") || index === undefined) return undefined;
  try {
    const doc = JSON.parse(index) as { manifests?: Array<{ digest?: unknown }> };
    const digest = doc.manifests?.length === 1 ? doc.manifests[0]!.digest : undefined;
    return typeof digest === "string" ? { digest } : {};
  } catch {
    return {};
  }
}
