import { _default, enum as zEnum, extend, lazy, optional, type output } from "zod/mini";
import { absolutePath } from "../../config/values.js";
import { ociCliSettingsSchema } from "../oci-cli-settings.js";

/** backends.crun in the config file. */
export const crunSettingsSchema = lazy(() =>
  extend(ociCliSettingsSchema("/usr/bin/crun"), {
    /** auto: libcrun through FFI when it loads and passes its check, else the crun CLI. */
    driver: _default(zEnum(["auto", "libcrun", "cli"]), "auto"),
    libcrunPath: optional(absolutePath()),
  }),
);

export type CrunSettings = output<typeof crunSettingsSchema>;
