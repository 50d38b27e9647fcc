import { mkdirSync } from "node:fs";
import { crashPoint } from "../../crash-point.js";
import { BackendError, oneLine } from "../../errors.js";
import type { Signal } from "../../oci/signals.js";
import type { BackendContext, Created, CreateRequest, Handle, HealthReport } from "../contract.js";
import { OciCliBackend, type OciCliSettings } from "../oci-cli.js";
import { readPidFile } from "../pid-file.js";
import type { OciRef } from "../probe.js";
import { LibcrunError, type Libcrun } from "./libcrun.js";

/**
 * The crun backend through libcrun (FFI): the crun CLI backend with create, start, kill, delete and
 * purge run in this process instead. Same per-container state root (<root>/<id>/crun), so
 * containers made by one driver are driven by the other; run, exec, ps, pause, resume and update
 * stay the CLI's (exec keeps crun's own CVE-2019-5736 protection).
 */
export class LibcrunBackend extends OciCliBackend {
  readonly forksCaller = true;

  constructor(
    private readonly lib: Libcrun,
    settings: OciCliSettings,
    ctx: BackendContext,
  ) {
    super(settings, ctx);
  }

  private fail(what: string, e: unknown): never {
    // libcrun's message with its errno in words, as the crun CLI prints it (`writing file ...: No space left on device`)
    const msg = e instanceof LibcrunError ? e.message.slice(e.op.length + 2) : (e as Error).message;
    this.ctx.log.debug({ error: String(e) }, `libcrun: ${what}`);
    throw new BackendError(`${what}: ${oneLine(msg)}`);
  }

  private context(h: Handle<OciRef>) {
    return { stateRoot: this.stateRoot(h), id: h.id, systemdCgroup: this.ctx.systemdCgroup };
  }

  override async create(req: CreateRequest): Promise<Created<OciRef>> {
    const stateRoot = this.runtimeRoot(req.dir);
    mkdirSync(stateRoot, { recursive: true, mode: 0o700 });
    crashPoint("libcrun:state-root-made");
    this.ctx.log.debug({ id: req.id, stateRoot }, "libcrun: create");
    try {
      this.lib.create({
        stateRoot,
        id: req.id,
        bundle: req.bundle.path,
        pidFile: req.pidFile,
        consoleSocket: req.consoleSocket,
        systemdCgroup: this.ctx.systemdCgroup,
        noPivot: req.noPivot,
        noNewKeyring: req.noNewKeyring,
        preserveFds: req.preserveFds,
      });
    } catch (e) {
      this.fail("create failed", e);
    }
    return { ref: { root: stateRoot, driver: "libcrun" }, pid: readPidFile(req.pidFile) };
  }

  override async start(h: Handle<OciRef>): Promise<void> {
    try {
      this.lib.start(this.context(h));
    } catch (e) {
      this.fail("start failed", e);
    }
  }

  override async kill(h: Handle<OciRef>, signal: Signal, all: boolean): Promise<void> {
    try {
      if (all) this.lib.killAll(this.context(h), String(signal.number));
      else this.lib.kill(this.context(h), String(signal.number));
    } catch (e) {
      this.fail("kill failed", e);
    }
  }

  override async delete(h: Handle<OciRef>, force: boolean): Promise<void> {
    if (!this.known(this.stateRoot(h), h.id)) return;
    try {
      this.lib.delete({ ...this.context(h), force });
    } catch (e) {
      this.fail("delete failed", e);
    }
  }

  protected override async forceDelete(id: string, dir: string): Promise<void> {
    try {
      this.lib.delete({ stateRoot: this.runtimeRoot(dir), id, force: true });
    } catch (e) {
      this.fail("delete failed", e);
    }
  }

  /** ok even when the crun CLI is missing: the in-process operations do not need it. */
  override async health(): Promise<HealthReport> {
    const cli = await this.toolHealth();
    return { backend: "crun", ok: true, details: [this.settings.healthNote ?? "driver: libcrun", `libcrun ${this.lib.version}: ${this.lib.path}`, ...cli.details] };
  }
}
