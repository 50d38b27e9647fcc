#!/usr/bin/env node
// @ts-check
// `pvesm` stand-in (PVE::CLI::pvesm): `path` and `export` of a volume, what a driver needs to read a
// VM disk's bytes on the node whatever the storage (pve-storage activates the volume for export).
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { die } from "./io.mjs";
import { runCliHandler } from "./cli.mjs";
import { parseVolumeId, readStorageCfg, storageCheckEnabled, volumePath } from "./storage.mjs";

/** @param {string} volid */
function pathOf(volid) {
  const cfg = readStorageCfg();
  const [sid] = /** @type {[string, string]} */ (parseVolumeId(volid));
  storageCheckEnabled(cfg, sid);
  return volumePath(cfg, volid);
}

/** `raw+size`: the volume's size as a little-endian u64, then its bytes */
function exportRaw(path) {
  const size = statSync(path).size;
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(size));
  process.stdout.write(head);
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let off = 0; off < size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - off), off);
      if (n <= 0) break;
      process.stdout.write(Buffer.from(buf.subarray(0, n)));
      off += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** @type {Record<string, import("./cli.mjs").CmdDef>} */
const cmddef = {
  path: {
    cls: "PVE::API2::Storage::Content",
    method: "path",
    properties: { volume: { type: "string" } },
    argParam: ["volume"],
    code: async (p) => pathOf(String(p.volume)),
    outsub: (path) => process.stdout.write(`${path}\n`),
  },
  export: {
    cls: "PVE::CLI::pvesm",
    method: "export",
    properties: {
      volume: { type: "string" },
      format: { type: "string", enum: ["raw+size", "tar+size", "qcow2+size", "vmdk+size", "zfs", "btrfs"] },
      filename: { type: "string" },
      "with-snapshots": { type: "boolean", optional: true },
      snapshot: { type: "string", optional: true },
      base: { type: "string", optional: true },
      "snapshot-list": { type: "string", optional: true },
    },
    argParam: ["volume", "format", "filename"],
    code: async (p) => {
      const path = pathOf(String(p.volume));
      if (p.format !== "raw+size") throw die(`unsupported export stream format for ${p.volume}: ${p.format}`);
      if (p.filename !== "-") throw die("the simulator exports to stdout only ('-')");
      exportRaw(path);
      return null;
    },
  },
};

// a reader that has what it wanted closes the pipe: end as a Perl pvesm would (SIGPIPE), not with a trace
process.stdout.on("error", (e) => process.exit(/** @type {NodeJS.ErrnoException} */ (e).code === "EPIPE" ? 141 : 255));
readStorageCfg();
process.exitCode = await runCliHandler("pvesm", cmddef, process.argv.slice(2));
