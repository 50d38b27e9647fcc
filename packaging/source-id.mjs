// The build's source id: a hash of every file under src/. Baked into each build (tsup and the
// single binary) as __NEXCAGE_SOURCE_ID__, so that state derived from the code, such as the
// validated config kept in the root (src/config/cache.ts), is never reused by a different build.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export function sourceId(repo) {
  const hash = createHash("sha256");
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) hash.update(`${relative(repo, path)}\0`).update(readFileSync(path)).update("\0");
    }
  };
  walk(join(repo, "src"));
  return hash.digest("hex").slice(0, 16);
}
