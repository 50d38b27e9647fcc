import { CommanderError } from "commander";
import { appendFileSync } from "node:fs";
import { scanArgv } from "./cli/argv.js";
import { buildProgram, VersionShown } from "./cli/program.js";
import { NexcageError, oneLine } from "./errors.js";
import { redactText } from "./redact.js";
import { dieOfSigpipe, StdoutClosed, writeErr, writeOut } from "./cli/write-fd.js";

/** Writes the runc-style error line containerd reads back from --log (also when no logger was set up). */
function logError(file: string | undefined, format: string, msg: string): void {
  if (file === undefined) return;
  const time = new Date().toISOString();
  const line = format === "json" ? `${JSON.stringify({ level: "error", msg, time })}\n` : `time=${JSON.stringify(time)} level=error msg=${JSON.stringify(msg)}\n`;
  try {
    appendFileSync(file, line, { mode: 0o600 });
  } catch {
    // the log file itself is unusable: stderr still has the message
  }
}

async function main(argv: string[]): Promise<number> {
  // Only the command named in argv is loaded; when commander finds no such command (the scan and
  // commander disagree), the whole program is built and parses the same argv again.
  const scan = scanArgv(argv.slice(2));
  let { program, ctx, complete } = await buildProgram(scan.version ? "none" : scan.command);
  try {
    try {
      await program.parseAsync(argv);
    } catch (e) {
      if (complete || !(e instanceof CommanderError) || e.code !== "commander.unknownCommand") throw e;
      ({ program, ctx, complete } = await buildProgram());
      await program.parseAsync(argv);
    }
    await ctx.currentLogger().flush();
    return ctx.exitCode;
  } catch (e) {
    // the command's own log lines go before the error line below (containerd reads the last one)
    await ctx.currentLogger().flush().catch(() => {});
    if (e instanceof StdoutClosed) dieOfSigpipe();
    if (e instanceof VersionShown) return 0;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return 0;
      if (e.code === "commander.help") {
        if (e.exitCode === 0) return 0;
        // no command given: the usage on stdout, one error line on stderr
        writeOut(program.helpInformation());
        report(ctx, "no command given");
        return 1;
      }
      const msg = oneLine(e.message.replace(/^error: /, ""));
      report(ctx, msg);
      return e.exitCode === 0 ? 1 : e.exitCode;
    }
    if (e instanceof NexcageError) {
      report(ctx, oneLine(e.message));
      return e.exitCode;
    }
    const err = e as Error;
    report(ctx, `internal error: ${oneLine(err?.message ?? String(e))}`);
    if (safeGlobals(ctx)?.debug) writeErr(`${redactText(err?.stack ?? "")}\n`);
    return 1;
  }

  function report(c: typeof ctx, text: string): void {
    const msg = redactText(text);
    writeErr(`nexcage: ${msg}\n`);
    const g = safeGlobals(c);
    logError(g?.log, g?.logFormat ?? "text", msg);
  }
}

function safeGlobals(ctx: Awaited<ReturnType<typeof buildProgram>>["ctx"]) {
  try {
    return ctx.globals();
  } catch {
    return undefined;
  }
}

// Everything is written (fd writes are synchronous, the log is flushed, children are waited for):
// exit now rather than when the runtime has wound down, which cost Bun about 2 ms per call.
main(process.argv).then(
  (code) => process.exit(code),
  (e) => {
    writeErr(`nexcage: internal error: ${String(e)}\n`);
    process.exit(1);
  },
);
