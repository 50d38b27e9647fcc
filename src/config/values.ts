import { _default, maximum, minLength, number, positive, refine, string } from "zod/mini";

// zod/mini pieces every settings schema uses (config, images, each backend's). Functions, not
// constants: a schema is built only when the settings schema that uses it is (on first use).

export const absolutePath = () =>
  string().check(minLength(1), refine((p: string) => p.startsWith("/") && !p.includes("\0"), { message: "must be an absolute path" }));

/** A timeout in seconds (at most an hour) with its default. */
export const seconds = (dflt: number) => _default(number().check(positive(), maximum(3600)), dflt);
