import { lazy, type output } from "zod/mini";
import { ociCliSettingsSchema } from "../oci-cli-settings.js";

/** backends.runc in the config file. */
export const runcSettingsSchema = lazy(() => ociCliSettingsSchema("/usr/sbin/runc"));

export type RuncSettings = output<typeof runcSettingsSchema>;
