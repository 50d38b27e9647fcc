import { describe, expect, it } from "vitest";
import { parseStorageCfg, templateDirOf, templateStorages } from "../../src/images/storage-cfg.js";

const CFG = `dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

# a comment
nfs: shared
\tpath /mnt/pve/shared/
\tserver 10.0.0.2
\texport /srv
\tcontent vztmpl

dir: off
\tpath /srv/off
\tcontent vztmpl
\tdisable

dir: isos
\tpath /srv/isos
\tcontent iso
`;

describe("storage.cfg", () => {
  const storages = parseStorageCfg(CFG);

  it("parses sections with type, path, content and disable", () => {
    expect([...storages.keys()]).toEqual(["local", "local-lvm", "shared", "off", "isos"]);
    expect(storages.get("local")).toEqual({ type: "dir", id: "local", path: "/var/lib/vz", content: ["iso", "vztmpl", "backup"], disabled: false });
    expect(storages.get("local-lvm")?.path).toBeUndefined();
    expect(storages.get("off")?.disabled).toBe(true);
  });

  it.each([
    ["local", "/var/lib/vz/template/cache"],
    ["shared", "/mnt/pve/shared/template/cache"],
  ])("template dir of %s is %s", (id, dir) => {
    expect(templateDirOf(storages, id)).toBe(dir);
  });

  it.each([
    ["nope", "storage 'nope' does not exist"],
    ["off", "storage 'off' is disabled"],
    ["local-lvm", "can't upload to storage type 'lvmthin', not a file based storage!"],
    ["isos", "storage 'isos' is not configured for content-type 'vztmpl'"],
  ])("%s is refused with PVE's message", (id, msg) => {
    expect(() => templateDirOf(storages, id)).toThrowError(msg);
  });

  it("lists the enabled file-based storages with template content", () => {
    expect(templateStorages(storages)).toEqual(["local", "shared"]);
  });
});
