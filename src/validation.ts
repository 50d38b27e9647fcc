import type { ZodMiniType, output } from "zod/mini";
import en from "zod/v4/locales/en.js";

export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly code?: string;
  readonly keys?: readonly string[];
}

export type Validated<T> = { readonly success: true; readonly data: T } | { readonly success: false; readonly issues: readonly Issue[] };

let english: ReturnType<typeof en>["localeError"] | undefined;

/**
 * Parses `doc` with a zod/mini schema. zod/mini carries no messages of its own; on failure only, the
 * document is parsed again with zod's English messages, so a valid document never pays for them.
 */
export function validate<S extends ZodMiniType>(schema: S, doc: unknown): Validated<output<S>> {
  const first = schema.safeParse(doc);
  if (first.success) return { success: true, data: first.data as output<S> };
  english ??= en().localeError;
  const again = schema.safeParse(doc, { error: english });
  if (again.success) return { success: true, data: again.data as output<S> };
  return { success: false, issues: again.error.issues as readonly Issue[] };
}
