// The guest image (build-image.sh, cached in build/guest-image) and the accelerator the stand-in's
// QEMU uses (lib/accel.mjs), for the tests that boot a real guest.
import { join } from "node:path";
import { run } from "../../../src/exec/run.js";

const HERE = import.meta.dirname;
export const GUEST_IMAGE = join(HERE, "../../../build/guest-image/debian-12-nexcage.raw");

/** Builds the image unless the cached one matches its inputs (about 2 minutes the first time). */
export async function ensureGuestImage(): Promise<string> {
  const r = await run("bash", [join(HERE, "build-image.sh")], { timeoutMs: 900_000 });
  if (r.exitCode !== 0) throw new Error(`guest image build failed:\n${r.stderr}`);
  return GUEST_IMAGE;
}

/** `kvm (…)` or `tcg (…)`: what the stand-in's VMs run on here, and why. */
export async function guestAccel(): Promise<string> {
  const r = await run(process.execPath, [join(HERE, "../lib/accel.mjs")], { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new Error(`accelerator probe failed: ${r.stderr}`);
  return r.stdout.trim();
}
