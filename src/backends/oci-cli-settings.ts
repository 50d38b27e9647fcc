import { _default, strictObject } from "zod/mini";
import { absolutePath, seconds } from "../config/values.js";

/** Settings of a backend over an OCI runtime CLI (crun, runc); built on first use. */
export const ociCliSettingsSchema = (defaultPath: string) =>
  strictObject({
    /** The runtime binary. */
    path: _default(absolutePath(), defaultPath),
    /** Seconds one call of the runtime may take before it is killed. */
    timeoutSeconds: seconds(60),
  });
