import { describe, expect, it } from "vitest";
import { startNeedsRuntime } from "../../src/backends/exec-fifo.js";

describe("whether a crun start must go through crun", () => {
  it.each([
    ["no hooks", { ociVersion: "1.0.2" }, {}, false],
    ["other hooks only", { hooks: { prestart: [{ path: "/bin/true" }], poststop: [{ path: "/bin/true" }] } }, {}, false],
    ["an empty poststart list", { hooks: { poststart: [] } }, {}, false],
    ["a poststart hook", { hooks: { poststart: [{ path: "/bin/true" }] } }, {}, true],
    ["a poststart that is not a list", { hooks: { poststart: {} } }, {}, true],
    ["hooks that are not an object", { hooks: 5 }, {}, true],
    ["NOTIFY_SOCKET set", { ociVersion: "1.0.2" }, { NOTIFY_SOCKET: "/run/n.sock" }, true],
    ["NOTIFY_SOCKET set but empty (crun still takes it)", {}, { NOTIFY_SOCKET: "" }, true],
    ["an unreadable state config", undefined, {}, true],
    ["a state config that is a list", [], {}, true],
  ])("%s", (_what, config, env, expected) => {
    expect(startNeedsRuntime(config, env)).toBe(expected);
  });
});
