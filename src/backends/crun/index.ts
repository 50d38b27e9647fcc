import type { Backend, BackendContext, HealthReport } from "../backend.js";
import { OciCliBackend } from "../oci-cli.js";
import { UnsupportedError } from "../../errors.js";
import { crunDriver } from "./driver.js";

/**
 * The crun backend: libcrun through FFI when the driver choice allows it, else the crun CLI. In
 * `auto`, a library that fails to load falls back to the CLI too, and says so under --debug.
 */
export async function createCrunBackend(ctx: BackendContext): Promise<Backend> {
  const cfg = ctx.config.backends.crun;
  const cli = new OciCliBackend({ name: "crun", binary: cfg.path, timeoutMs: cfg.timeoutSeconds * 1000 }, ctx);
  const choice = crunDriver(ctx);
  if (choice.driver === "cli" || choice.libraryPath === undefined) {
    ctx.log.debug({ driver: "cli", reason: choice.reason }, `crun driver: cli (${choice.reason})`);
    return withDriverNote(cli, `driver: crun CLI (${choice.reason})`);
  }
  const libraryPath = choice.libraryPath;
  // The library (and koffi) load on the first operation that needs them: `state` and `list` only
  // read /proc and never pay for it.
  let loaded: Promise<Backend> | undefined;
  const real = () => (loaded ??= loadDriver(ctx, cli, libraryPath, choice.reason));
  return {
    name: "crun",
    forksCaller: true,
    create: async (req) => (await real()).create(req),
    start: async (rec) => (await real()).start(rec),
    kill: async (rec, sig, all) => (await real()).kill(rec, sig, all),
    delete: async (rec, force) => (await real()).delete(rec, force),
    purge: async (id, dir) => (await real()).purge(id, dir),
    probe: (rec) => cli.probe(rec),
    run: async (req, onStarted) => (await real()).run!(req, onStarted),
    exec: async (rec, req) => (await real()).exec!(rec, req),
    ps: async (rec) => (await real()).ps!(rec),
    pause: async (rec) => (await real()).pause!(rec),
    resume: async (rec) => (await real()).resume!(rec),
    update: async (rec, flags) => (await real()).update!(rec, flags),
    health: async () => (await real()).health(),
  };
}

/** Loads libcrun; in `auto` a library that fails to load falls back to the CLI, and says so. */
async function loadDriver(ctx: BackendContext, cli: OciCliBackend, libraryPath: string, reason: string): Promise<Backend> {
  const { loadLibcrun } = await import("./libcrun.js");
  let lib;
  try {
    lib = loadLibcrun(libraryPath);
  } catch (e) {
    const why = `libcrun failed to load: ${(e as Error).message}`;
    const setting = process.env["NEXCAGE_CRUN_DRIVER"] || ctx.config.backends.crun.driver;
    if (setting === "libcrun") throw new UnsupportedError(`crun driver libcrun cannot be used: ${why}`);
    ctx.log.debug({ driver: "cli", reason: why }, `crun driver: cli (${why})`);
    return withDriverNote(cli, `driver: crun CLI (${why})`);
  }
  ctx.log.debug({ driver: "libcrun", library: lib.path, reason }, `crun driver: libcrun (${reason})`);
  const { LibcrunBackend } = await import("./libcrun-backend.js");
  return withDriverNote(new LibcrunBackend(lib, cli, ctx), `driver: libcrun (${reason})`);
}

/** Adds the driver line to the backend's health report. */
function withDriverNote(backend: Backend, note: string): Backend {
  const health = backend.health.bind(backend);
  backend.health = async (): Promise<HealthReport> => {
    const r = await health();
    return { ...r, details: [note, ...r.details] };
  };
  return backend;
}
