import type { Backend, BackendContext } from "../contract.js";
import { OciCliBackend } from "../oci-cli.js";
import type { OciRef } from "../probe.js";

export function createRuncBackend(ctx: BackendContext): Backend<OciRef> {
  const cfg = ctx.config.backends.runc;
  return new OciCliBackend({ name: "runc", binary: cfg.path, timeoutMs: cfg.timeoutSeconds * 1000, cgroupBase: "caller" }, ctx);
}
