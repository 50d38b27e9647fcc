import type { Backend, BackendContext } from "../backend.js";
import { OciCliBackend } from "../oci-cli.js";

/**
 * The crun backend. Its driver is the crun CLI for now; the libcrun FFI driver plugs in here and
 * keeps the same per-container state root, so both drivers see the same containers.
 */
export function createCrunBackend(ctx: BackendContext): Backend {
  const cfg = ctx.config.backends.crun;
  return new OciCliBackend({ name: "crun", binary: cfg.path, timeoutMs: cfg.timeoutSeconds * 1000 }, ctx);
}
