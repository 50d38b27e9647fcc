/** A hash of every file under `<repo>/src` (16 hex digits). */
export function sourceId(repo: string): string;
