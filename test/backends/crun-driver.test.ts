import { describe, expect, it } from "vitest";
import { chooseDriver, type DriverFacts } from "../../src/backends/crun/driver.js";
import { executableProtection, mountFor, parseMountinfo } from "../../src/backends/crun/exe-guard.js";

const MOUNTINFO = [
  "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro",
  "30 22 0:25 / /usr rw,relatime shared:2 - ext4 /dev/vda2 rw",
  "31 22 0:26 / /opt/ro ro,relatime shared:3 - ext4 /dev/vda3 rw",
  "32 22 0:27 / /srv/sb rw,relatime shared:4 - squashfs /dev/loop0 ro",
  "33 22 254:1 /usr/bin/node /tmp/ro\\040node/node ro,relatime shared:1 - ext4 /dev/vda1 rw",
  "34 30 254:1 /x /usr/lib/nexcage rw,relatime - ext4 /dev/vda1 rw",
  "35 34 254:1 /x /usr/lib/nexcage ro,relatime - ext4 /dev/vda1 rw",
].join("\n");

describe("exe-guard", () => {
  const mounts = parseMountinfo(MOUNTINFO);

  it("decodes mount points and read-only flags (mount or superblock)", () => {
    expect(mounts.map((m) => [m.mountPoint, m.readOnly])).toEqual([
      ["/", false],
      ["/usr", false],
      ["/opt/ro", true],
      ["/srv/sb", true],
      ["/tmp/ro node/node", true],
      ["/usr/lib/nexcage", false],
      ["/usr/lib/nexcage", true],
    ]);
  });

  it.each([
    ["/usr/bin/node", "/usr", false],
    ["/opt/ro/node", "/opt/ro", true],
    ["/opt/rox/node", "/", false],
    ["/srv/sb/bin/nexcage", "/srv/sb", true],
    ["/tmp/ro node/node", "/tmp/ro node/node", true],
    ["/usr/lib/nexcage/nexcage", "/usr/lib/nexcage", true],
    ["/bin/sh", "/", false],
  ])("%s lives on %s (read-only: %s)", (path, mp, ro) => {
    expect(mountFor(path, mounts)).toEqual({ mountPoint: mp, readOnly: ro });
    expect(executableProtection(path, MOUNTINFO).protected).toBe(ro);
  });

  it("explains an unprotected executable with the CVE", () => {
    expect(executableProtection("/usr/bin/node", MOUNTINFO).reason).toMatch(/writable mount \(\/usr\).*CVE-2019-5736/);
    expect(executableProtection("/x", "").protected).toBe(false);
  });
});

describe("chooseDriver", () => {
  const lib = { path: "/usr/lib/nexcage/libcrun.so.1.8.1" };
  const missing = { missing: "no library" };
  const ro = { protected: true, reason: "read-only" };
  const rw = { protected: false, reason: "writable (CVE-2019-5736)" };
  const facts = (configured: DriverFacts["configured"], env: string | undefined, library: DriverFacts["library"], executable: DriverFacts["executable"]): DriverFacts => ({ configured, env, library, executable });

  it.each([
    [facts("auto", undefined, lib, ro), "libcrun", /backends\.crun\.driver is auto; read-only/],
    [facts("auto", undefined, missing, ro), "cli", /auto and libcrun is not usable: no library/],
    [facts("auto", undefined, lib, rw), "cli", /not usable: writable/],
    [facts("cli", undefined, lib, ro), "cli", /backends\.crun\.driver is cli/],
    [facts("libcrun", undefined, lib, ro), "libcrun", /is libcrun/],
    [facts("libcrun", "cli", lib, ro), "cli", /NEXCAGE_CRUN_DRIVER is cli/],
    [facts("cli", "auto", lib, ro), "libcrun", /NEXCAGE_CRUN_DRIVER is auto/],
    [facts("auto", "", lib, ro), "libcrun", /backends\.crun\.driver/],
  ])("%#: %o → %s", (f, driver, reason) => {
    const c = chooseDriver(f);
    expect(c.driver).toBe(driver);
    expect(c.reason).toMatch(reason);
  });

  it.each([
    [facts("libcrun", undefined, missing, ro), /crun driver libcrun \(backends\.crun\.driver\) cannot be used: no library/],
    [facts("libcrun", undefined, lib, rw), /cannot be used: writable/],
    [facts("auto", "libcrun", lib, rw), /\(NEXCAGE_CRUN_DRIVER\) cannot be used/],
    [facts("auto", "ffi", lib, ro), /NEXCAGE_CRUN_DRIVER="ffi": must be auto, libcrun or cli/],
  ])("%#: refuses", (f, re) => {
    expect(() => chooseDriver(f)).toThrowError(re);
  });
});
