import { UnsupportedError } from "../../errors.js";
import type { Backend, BackendContext } from "../contract.js";
import { OciCliBackend, type OciCliSettings } from "../oci-cli.js";
import type { OciRef } from "../probe.js";
import { crunDriver } from "./driver.js";
import { crunExecRefusals, crunUpdateRefusals } from "./refusals.js";

/**
 * The crun backend, its driver chosen once here: libcrun through FFI when the driver choice allows
 * it, else the crun CLI. In `auto`, a library that fails to load falls back to the CLI too, and
 * says so under --debug and in `health`. `state` and `list` never get here (the runtime reads
 * /proc), so they never pay for koffi.
 */
export async function createCrunBackend(ctx: BackendContext): Promise<Backend<OciRef>> {
  const cfg = ctx.config.backends.crun;
  const settings: OciCliSettings = {
    name: "crun",
    binary: cfg.path,
    timeoutMs: cfg.timeoutSeconds * 1000,
    execRefusals: crunExecRefusals,
    updateRefusals: crunUpdateRefusals,
    cgroupBase: "root",
  };
  const choice = crunDriver(ctx);
  if (choice.driver === "cli" || choice.libraryPath === undefined) {
    ctx.log.debug({ driver: "cli", reason: choice.reason }, `crun driver: cli (${choice.reason})`);
    return new OciCliBackend({ ...settings, healthNote: `driver: crun CLI (${choice.reason})` }, ctx);
  }
  const { loadLibcrun } = await import("./libcrun.js");
  let lib;
  try {
    lib = loadLibcrun(choice.libraryPath);
  } catch (e) {
    const why = `libcrun failed to load: ${(e as Error).message}`;
    if (choice.setting === "libcrun") throw new UnsupportedError(`crun driver libcrun cannot be used: ${why}`);
    ctx.log.debug({ driver: "cli", reason: why }, `crun driver: cli (${why})`);
    return new OciCliBackend({ ...settings, healthNote: `driver: crun CLI (${why})` }, ctx);
  }
  ctx.log.debug({ driver: "libcrun", library: lib.path, reason: choice.reason }, `crun driver: libcrun (${choice.reason})`);
  const { LibcrunBackend } = await import("./libcrun-backend.js");
  return new LibcrunBackend(lib, { ...settings, healthNote: `driver: libcrun (${choice.reason})` }, ctx);
}
