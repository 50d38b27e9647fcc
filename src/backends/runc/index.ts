import type { Backend, BackendContext } from "../backend.js";
import { OciCliBackend } from "../oci-cli.js";

export function createRuncBackend(ctx: BackendContext): Backend {
  const cfg = ctx.config.backends.runc;
  return new OciCliBackend({ name: "runc", binary: cfg.path, timeoutMs: cfg.timeoutSeconds * 1000 }, ctx);
}
