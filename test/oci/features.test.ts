import { describe, expect, it } from "vitest";
import { BACKEND_NAMES } from "../../src/names.js";
import { featuresDocument } from "../../src/oci/features.js";

describe("featuresDocument: runc's features shape", () => {
  it("names every registered backend and the version in nexcage's annotations", () => {
    const doc = featuresDocument("9.9.9", BACKEND_NAMES) as { annotations: Record<string, string>; ociVersionMin: string };
    expect(doc.annotations).toEqual({ "org.nexcage.version": "9.9.9", "org.nexcage.backends": "crun,runc,proxmox-lxc,proxmox-vm" });
    expect(doc.ociVersionMin).toBe("1.0.0");
  });
});
