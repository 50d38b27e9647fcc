import { mkdirSync } from "node:fs";
import { crashPoint } from "../../crash-point.js";
import { BackendError, oneLine } from "../../errors.js";
import type { Signal } from "../../oci/signals.js";
import type { ContainerRecord } from "../../state/record.js";
import type { Backend, BackendContext, Created, CreateRequest, ExecRequest, ExitCode, HealthReport, Probe } from "../backend.js";
import type { OciCliBackend } from "../oci-cli.js";
import { readPidFile } from "../pid-file.js";
import { LibcrunError, type Libcrun } from "./libcrun.js";

/**
 * The crun backend through libcrun (FFI): create, start, kill and delete run in this process, with
 * the same per-container state root as the crun CLI driver (<root>/<id>/crun), so containers made by
 * one driver are driven by the other. A foreground `run` goes through the crun CLI.
 */
export class LibcrunBackend implements Backend {
  readonly name = "crun" as const;
  readonly forksCaller = true;

  constructor(
    private readonly lib: Libcrun,
    private readonly cli: OciCliBackend,
    private readonly ctx: BackendContext,
  ) {}

  private fail(what: string, e: unknown): never {
    // libcrun's message with its errno in words, as the crun CLI prints it (`writing file ...: No space left on device`)
    const msg = e instanceof LibcrunError ? e.message.slice(e.op.length + 2) : (e as Error).message;
    this.ctx.log.debug({ error: String(e) }, `libcrun: ${what}`);
    throw new BackendError(`${what}: ${oneLine(msg)}`);
  }

  private context(rec: ContainerRecord) {
    return { stateRoot: this.cli.runtimeRoot(this.cli.dirOf(rec)), id: rec.id, systemdCgroup: this.ctx.systemdCgroup };
  }

  async create(req: CreateRequest): Promise<Created> {
    const stateRoot = this.cli.runtimeRoot(req.dir);
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

  async start(rec: ContainerRecord): Promise<void> {
    try {
      this.lib.start(this.context(rec));
    } catch (e) {
      this.fail("start failed", e);
    }
  }

  async kill(rec: ContainerRecord, signal: Signal, all: boolean): Promise<void> {
    try {
      if (all) this.lib.killAll(this.context(rec), String(signal.number));
      else this.lib.kill(this.context(rec), String(signal.number));
    } catch (e) {
      this.fail("kill failed", e);
    }
  }

  async delete(rec: ContainerRecord, force: boolean): Promise<void> {
    if (!this.cli.known(this.cli.dirOf(rec), rec.id)) return;
    try {
      this.lib.delete({ ...this.context(rec), force });
    } catch (e) {
      this.fail("delete failed", e);
    }
  }

  async purge(id: string, dir: string): Promise<void> {
    if (!this.cli.known(dir, id)) return;
    try {
      this.lib.delete({ stateRoot: this.cli.runtimeRoot(dir), id, force: true });
    } catch (e) {
      this.fail("delete failed", e);
    }
  }

  probe(rec: ContainerRecord): Promise<Probe> {
    return this.cli.probe(rec);
  }

  run(req: CreateRequest, onStarted: (created: Created) => Promise<void>): Promise<ExitCode> {
    return this.cli.run(req, onStarted);
  }

  /** exec always goes through the crun CLI, which keeps crun's own CVE-2019-5736 protection. */
  exec(rec: ContainerRecord, req: ExecRequest): Promise<ExitCode> {
    return this.cli.exec(rec, req);
  }

  ps(rec: ContainerRecord): Promise<number[]> {
    return this.cli.ps(rec);
  }

  pause(rec: ContainerRecord): Promise<void> {
    return this.cli.pause(rec);
  }

  resume(rec: ContainerRecord): Promise<void> {
    return this.cli.resume(rec);
  }

  update(rec: ContainerRecord, flags: readonly string[]): Promise<void> {
    return this.cli.update(rec, flags);
  }

  async health(): Promise<HealthReport> {
    const cli = await this.cli.health();
    return { backend: "crun", ok: true, details: [`libcrun ${this.lib.version}: ${this.lib.path}`, ...cli.details] };
  }
}
