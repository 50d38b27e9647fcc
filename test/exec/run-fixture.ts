// Runs one src/exec/run.ts call in this process (node or Bun) and prints its result as JSON:
// argv[2] is {"file": ..., "args": [...], "opts": {...}}.
import { run } from "../../src/exec/run.js";

const c = JSON.parse(process.argv[2]!) as { file: string; args: string[]; opts?: Record<string, unknown> };
const r = await run(c.file, c.args, c.opts ?? {});
process.stdout.write(JSON.stringify({ ...r, spawnError: r.spawnError ? { code: r.spawnError.code } : undefined }));
