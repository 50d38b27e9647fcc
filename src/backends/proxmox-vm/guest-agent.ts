import { execProcess, execResult, guestArgv, parseExecPid, parseExecStatus, parsePids, PS_ARGV, qmGuestExecArgs, type ExecStatus, type ProcessDefaults } from "./guest-exec.js";
import type { ExecRequest } from "../contract.js";
import { BackendError } from "../../errors.js";

/** Runs one qm call (argv without `qm`), failing with a QmError for `what`. */
export type Qm = (args: readonly string[], what: string) => Promise<string>;

const POLL_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The bundle's guest as the QEMU guest agent reaches it, through `qm guest exec` and its status
 * polling (Proxmox has no other way in): exec and ps.
 */
export class GuestAgent {
  constructor(
    private readonly qm: Qm,
    private readonly vmid: number,
  ) {}

  /** Starts argv in the guest; the guest pid. */
  async spawn(argv: readonly string[], what: string): Promise<number> {
    return parseExecPid(await this.qm(qmGuestExecArgs(this.vmid, argv), what));
  }

  /** Polls exec-status until the guest process has exited. */
  async wait(pid: number, what: string): Promise<ExecStatus> {
    for (;;) {
      const s = parseExecStatus(await this.qm(["guest", "exec-status", String(this.vmid), String(pid)], what));
      if (s.exited) return s;
      await sleep(POLL_MS);
    }
  }

  /**
   * exec: detached, the guest pid once started; attached, the output (written when the process has
   * ended: the agent hands it over only then) and the exit code.
   */
  async exec(container: ProcessDefaults, req: ExecRequest, processFile: ProcessDefaults | undefined, out: { stdout: (s: string) => void; stderr: (s: string) => void }): Promise<{ pid: number; code: number }> {
    const pid = await this.spawn(guestArgv(execProcess(container, req, processFile)), "exec failed");
    if (req.detach) return { pid, code: 0 };
    const s = await this.wait(pid, "exec failed");
    const code = execResult(s);
    out.stdout(s.out);
    out.stderr(s.err);
    return { pid, code };
  }

  /** Guest pids of the service's processes. */
  async ps(): Promise<number[]> {
    const s = await this.wait(await this.spawn(PS_ARGV, "ps failed"), "ps failed");
    return s.exitcode === 0 ? parsePids(s.out) : [];
  }

  /** The guest's own ps(1) table (all of it: the caller narrows it to the pids) and the service's pids. */
  async psTable(psOptions: readonly string[]): Promise<{ pids: number[]; text: string }> {
    const pids = await this.ps();
    const s = await this.wait(await this.spawn(["ps", ...psOptions], "ps failed"), "ps failed");
    if (s.exitcode !== 0) throw new BackendError(`ps failed: ps in the guest exited with ${s.exitcode}: ${s.err.trim()}`);
    return { pids, text: s.out };
  }
}
