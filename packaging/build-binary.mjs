#!/usr/bin/env node
// Builds the single self-contained linux-x64 executable: dist/nexcage (no Node.js needed on the
// target) and, beside it, koffi's Node-API module dist/koffi.node (the DEB puts it in /usr/lib/nexcage).
//
//   node packaging/build-binary.mjs [--mode bun|bun-bytecode|sea-cache|sea] [--out dist/nexcage]
//
// Modes (measured in docs/single-binary.md; the default is the one chosen there):
//   bun-bytecode  `bun build --compile --bytecode` of the CommonJS bundle: JavaScriptCore bytecode
//                 precompiled into the executable (default; the bun binary comes from the devDependency
//                 @oven/bun-linux-x64-baseline, or $BUN). The baseline build runs on x86-64 CPUs
//                 without AVX2 (older Proxmox hosts); the default bun build dies there with SIGILL.
//   bun           the same from the ESM bundle without bytecode
//   sea-cache     Node single executable application with V8's code cache
//   sea           Node single executable application without code cache
// Also writes build/binary/meta.json (esbuild's metafile: which npm packages are in the bundle) and
// build/binary/build-info.json (version, commit, mode, runtime) for the SBOM (packaging/sbom.mjs).
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { sourceId } from "./source-id.mjs";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WORK = join(REPO, "build", "binary");
// The fuse postject flips so that node runs the injected blob (fixed by Node's SEA implementation).
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

function fail(msg) {
  process.stderr.write(`build-binary: ${msg}\n`);
  process.exit(1);
}

const opts = { mode: "bun-bytecode", out: join(REPO, "dist", "nexcage") };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--mode") opts.mode = process.argv[++i] ?? fail("--mode needs a value");
  else if (a === "--out") opts.out = resolve(process.argv[++i] ?? fail("--out needs a value"));
  else fail(`unknown argument ${a} (usage: build-binary.mjs [--mode sea-cache|sea|bun] [--out FILE])`);
}
/** Bun's JIT tier-up threshold scale for the binary (1 = Bun's default). */
const JIT_POLICY = 30;
const MODES = ["bun", "bun-bytecode", "sea-cache", "sea"];
if (!MODES.includes(opts.mode)) fail(`unknown mode ${opts.mode}: ${MODES.join(", ")}`);
if (process.platform !== "linux" || process.arch !== "x64") fail(`linux-x64 only (this is ${process.platform}-${process.arch})`);

const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
let commit = process.env.NEXCAGE_COMMIT ?? "";
if (!commit) {
  try {
    commit = execFileSync("git", ["-C", REPO, "rev-parse", "--short=12", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["-C", REPO, "status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" }).trim();
    if (dirty) commit += "-dirty";
  } catch {
    commit = "unknown";
  }
}

rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
mkdirSync(dirname(opts.out), { recursive: true });

// 1. One bundle. SEA runs a CommonJS script; bun takes ESM. koffi stays out: its native module is a file.
const sea = opts.mode.startsWith("sea");
const cjs = opts.mode !== "bun";
const bundle = join(WORK, cjs ? "nexcage.cjs" : "nexcage.mjs");
const result = await build({
  absWorkingDir: REPO,
  entryPoints: ["src/main.ts"],
  outfile: bundle,
  bundle: true,
  platform: "node",
  target: "node20",
  format: cjs ? "cjs" : "esm",
  minify: true,
  metafile: true,
  external: ["koffi"],
  define: {
    __NEXCAGE_VERSION__: JSON.stringify(pkg.version),
    __NEXCAGE_COMMIT__: JSON.stringify(commit),
    __NEXCAGE_SINGLE_BINARY__: "true",
    __NEXCAGE_SOURCE_ID__: JSON.stringify(sourceId(REPO)),
  },
  // import.meta is only read on the script bundle's paths, which __NEXCAGE_SINGLE_BINARY__ removes
  logOverride: { "empty-import-meta": "silent" },
  banner: cjs ? undefined : { js: "import { createRequire as __nexcageCreateRequire } from 'node:module'; const require = __nexcageCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
writeFileSync(join(WORK, "meta.json"), JSON.stringify(result.metafile));

// 2. The executable.
const tmpOut = `${opts.out}.tmp`;
rmSync(tmpOut, { force: true });
let runtime;
if (sea) {
  const blob = join(WORK, "sea.blob");
  writeFileSync(
    join(WORK, "sea.json"),
    JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: opts.mode === "sea-cache" }),
  );
  execFileSync(process.execPath, ["--experimental-sea-config", join(WORK, "sea.json")], { stdio: ["ignore", "ignore", "inherit"] });
  copyFileSync(process.execPath, tmpOut);
  chmodSync(tmpOut, 0o755);
  // node ships with debug info (about 13 MB): drop it before the blob goes in
  execFileSync("strip", ["--strip-all", tmpOut]);
  const postject = join(REPO, "node_modules", ".bin", "postject");
  if (!existsSync(postject)) fail("postject missing: npm ci");
  execFileSync(postject, [tmpOut, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE], { stdio: "ignore" });
  runtime = { name: "node", version: process.versions.node };
} else {
  const bun = process.env.BUN ?? join(REPO, "node_modules", "@oven", "bun-linux-x64-baseline", "bin", "bun");
  if (!existsSync(bun)) fail(`bun missing (${bun}): set BUN or npm ci (@oven/bun-linux-x64-baseline)`);
  const extra = opts.mode === "bun-bytecode" ? ["--bytecode", "--format=cjs"] : [];
  // A compiled Bun program would read .env and bunfig.toml from its working directory at start
  // (containerd runs the runtime in the bundle's directory): never. And JIT tier-up 30 times later
  // than Bun's default: a call lives for milliseconds, and compiling code it runs once or twice
  // cost about 2-3 ms of CPU per call (docs/performance.md).
  extra.push("--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", `--compile-jit-policy=${JIT_POLICY}`);
  // the runtime copied into the executable, without its symbol table (stripping the result would cut
  // off the embedded bundle)
  const base = join(WORK, "bun-runtime");
  execFileSync("strip", ["--strip-all", bun, "-o", base]);
  execFileSync(bun, ["build", "--compile", `--compile-executable-path=${base}`, ...extra, "--target=bun-linux-x64-baseline", "--external", "koffi", bundle, "--outfile", tmpOut], { stdio: ["ignore", "ignore", "inherit"] });
  runtime = { name: "bun", version: execFileSync(bun, ["--version"], { encoding: "utf8" }).trim() };
}

// 3. koffi's Node-API module for this platform, from the locked npm package.
const nodeModules = join(REPO, "node_modules");
const koffiPkg = JSON.parse(readFileSync(join(nodeModules, "koffi", "package.json"), "utf8"));
const nativeDir = join(nodeModules, "@koromix", "koffi-linux-x64");
const nativePkg = JSON.parse(readFileSync(join(nativeDir, "package.json"), "utf8"));
if (nativePkg.version !== koffiPkg.version) fail(`koffi ${koffiPkg.version} but @koromix/koffi-linux-x64 ${nativePkg.version}: npm ci`);
const koffiNode = join(nativeDir, "linux_x64", "koffi.node");
if (!existsSync(koffiNode)) fail(`koffi native module missing: ${koffiNode}`);
copyFileSync(koffiNode, join(dirname(opts.out), "koffi.node"));
// proxmox-lxc's static helper (packaging/ct-init/build.sh), beside the binary as well when built
const ctInit = join(REPO, "build", "ct-init", "nexcage-ct-init");
if (existsSync(ctInit)) copyFileSync(ctInit, join(dirname(opts.out), "nexcage-ct-init"));

// 4. Smoke check: the binary runs without node on its PATH and reports what was baked in.
const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
const version = execFileSync(tmpOut, ["--version"], { encoding: "utf8", env });
if (!version.includes(`nexcage version ${pkg.version}`) || !version.includes(`commit: ${commit}`)) {
  fail(`the built binary printed an unexpected version:\n${version}`);
}
execFileSync("mv", ["-f", tmpOut, opts.out]);

writeFileSync(
  join(WORK, "build-info.json"),
  JSON.stringify({ version: pkg.version, commit, mode: opts.mode, runtime, koffi: koffiPkg.version }, null, 2) + "\n",
);
process.stdout.write(`build-binary: ${opts.out} (${opts.mode}, ${runtime.name} ${runtime.version}, commit ${commit})\n`);
