import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { sourceId } from "./packaging/source-id.mjs";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
let commit = process.env["NEXCAGE_COMMIT"] ?? "";
if (!commit) {
  try {
    commit = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    commit = "unknown";
  }
}

export default defineConfig({
  entry: { nexcage: "src/main.ts" },
  format: ["esm"],
  outExtension: () => ({ js: ".mjs" }),
  platform: "node",
  target: "node20",
  bundle: true,
  splitting: false,
  sourcemap: false,
  clean: true,
  minify: true,
  // koffi ships a native addon: it is loaded from node_modules (or the package's lib dir), never bundled.
  external: ["koffi"],
  noExternal: [/^(?!koffi$).*/],
  // The shebang drops NODE_EXTRA_CA_CERTS: node 20 reads and parses that CA file before any of our
  // code runs (40-80 ms per call here; containerd passes it on), and nexcage makes no TLS connection.
  banner: {
    js: "#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node\nimport { createRequire as __nexcageCreateRequire } from 'node:module'; const require = __nexcageCreateRequire(import.meta.url);",
  },
  define: {
    __NEXCAGE_VERSION__: JSON.stringify(pkg.version),
    __NEXCAGE_COMMIT__: JSON.stringify(commit),
    __NEXCAGE_SOURCE_ID__: JSON.stringify(sourceId(process.cwd())),
  },
});
