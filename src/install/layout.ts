import { dirname, join } from "node:path";

declare const __NEXCAGE_SINGLE_BINARY__: boolean | undefined;

/**
 * True in the single executable built by packaging/build-binary (the bundle is inside the runtime
 * binary, so there is no node_modules and no checkout around it); false for `node dist/nexcage.mjs`.
 */
export const SINGLE_BINARY = typeof __NEXCAGE_SINGLE_BINARY__ === "boolean" && __NEXCAGE_SINGLE_BINARY__;

/** Where the DEB puts the native parts: libcrun.so and koffi's Node-API module. */
export const SYSTEM_LIB_DIR = "/usr/lib/nexcage";
export const KOFFI_NODE = "koffi.node";

/**
 * Pure: the directories searched for a native part, in order. The package's directory first; then,
 * for a single binary, the directory it sits in (dist/ of a checkout, next to koffi.node copied there
 * by the build); for the script bundle, the given checkout directory.
 */
export function nativeDirs(singleBinary: boolean, execPath: string, checkoutDir: string | undefined): string[] {
  const dirs = [SYSTEM_LIB_DIR];
  const local = singleBinary ? dirname(execPath) : checkoutDir;
  if (local !== undefined && local !== SYSTEM_LIB_DIR) dirs.push(local);
  return dirs;
}

/** Pure: the first candidate file that exists, by the given existence check. */
export function firstExisting(dirs: readonly string[], file: string, exists: (p: string) => boolean): string | undefined {
  for (const d of dirs) {
    const p = join(d, file);
    if (exists(p)) return p;
  }
  return undefined;
}
