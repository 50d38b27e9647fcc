// @ts-check
// `qm guest exec|exec-status|cmd` (PVE::API2::Qemu::Agent, PVE::QemuServer::Agent, PVE::CLI::qm):
// commands for the real qemu-guest-agent inside the guest, over /var/run/qemu-server/<vmid>.qga.
import { die } from "./io.mjs";
import { NODE } from "./env.mjs";
import { agentEnabled, qgaSocket } from "./kvm.mjs";
import { isTimeout, qga } from "./qmp.mjs";
import { loadVmConfig } from "./qmconf.mjs";
import { runningPid } from "./qemu.mjs";

/** what `qm guest cmd` accepts (the API's agent sub-paths) */
export const AGENT_COMMANDS = [
  "fsfreeze-freeze", "fsfreeze-status", "fsfreeze-thaw", "fstrim", "get-fsinfo", "get-host-name",
  "get-memory-block-info", "get-memory-blocks", "get-osinfo", "get-time", "get-timezone", "get-users",
  "get-vcpus", "info", "network-get-interfaces", "ping", "shutdown", "suspend-disk", "suspend-hybrid", "suspend-ram",
];

/** agent_available: configured, VM running, agent answering a ping */
async function assertAgentAvailable(vmid, conf) {
  if (!agentEnabled(conf)) throw die("No QEMU guest agent configured");
  if (!runningPid(vmid)) throw die(`VM ${vmid} is not running`);
  try {
    await qga(qgaSocket(vmid), "guest-ping", undefined, 3000);
  } catch (e) {
    if (isTimeout(e) || !(/** @type {any} */ (e).agent)) throw die("QEMU guest agent is not running");
  }
}

/**
 * agent_cmd: one guest-agent command, errors as Proxmox words them.
 * @param {number} vmid
 * @param {Record<string, any>} conf
 * @param {string} execute
 * @param {Record<string, any>} [args]
 */
export async function agentCmd(vmid, conf, execute, args, noReply = false) {
  await assertAgentAvailable(vmid, conf);
  try {
    return await qga(qgaSocket(vmid), execute, args, 30_000, noReply);
  } catch (e) {
    if (isTimeout(e)) throw die(`VM ${vmid} qmp command '${execute}' failed - got timeout`);
    throw die(`Agent error: ${/** @type {Error} */ (e).message}`);
  }
}

/** Perl's JSON->pretty->canonical: 3-space indent, ` : ` between key and value, keys sorted */
export function perlPretty(v, indent = "") {
  const inner = `${indent}   `;
  if (Array.isArray(v)) return v.length ? `[\n${v.map((x) => inner + perlPretty(x, inner)).join(",\n")}\n${indent}]` : "[]";
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return keys.length ? `{\n${keys.map((k) => `${inner}${JSON.stringify(k)} : ${perlPretty(v[k], inner)}`).join(",\n")}\n${indent}}` : "{}";
  }
  return JSON.stringify(v);
}

/** exec-status with out-data/err-data base64-decoded, as the API returns them */
async function execStatus(vmid, conf, pid) {
  /** @type {Record<string, any>} */
  const res = await agentCmd(vmid, conf, "guest-exec-status", { pid });
  for (const k of ["out-data", "err-data"]) if (typeof res[k] === "string") res[k] = Buffer.from(res[k], "base64").toString("utf8");
  // as qemu_exec_status: JSON booleans become 1/0
  for (const [k, v] of Object.entries(res)) if (typeof v === "boolean") res[k] = v ? 1 : 0;
  return res;
}

const vmidOf = (param) => Number(param.vmid);

/** @type {Record<string, import("./cli.mjs").CmdDef>} */
export const guestCmddef = {
  exec: {
    cls: "PVE::API2::Qemu::Agent",
    method: "exec",
    properties: {
      node: { type: "string" },
      vmid: { type: "integer", format: "pve-vmid" },
      "extra-args": { type: "array", optional: true, items: { type: "string" } },
      synchronous: { type: "boolean", optional: true },
      "pass-stdin": { type: "boolean", optional: true },
      timeout: { type: "integer", optional: true, minimum: 0 },
    },
    argParam: ["vmid", "extra-args"],
    fixed: { node: NODE },
    code: async (param) => {
      const vmid = vmidOf(param);
      const conf = loadVmConfig(vmid);
      const [path, ...arg] = /** @type {string[]} */ (param["extra-args"] ?? []);
      if (path === undefined) throw die("No command given");
      if (param["pass-stdin"]) throw die("the simulator does not pass stdin");
      const { pid } = await agentCmd(vmid, conf, "guest-exec", { path, arg, "capture-output": true });
      if (param.synchronous !== undefined && !param.synchronous) return { pid };
      const end = Date.now() + Number(param.timeout ?? 30) * 1000;
      for (;;) {
        const res = await execStatus(vmid, conf, pid);
        if (res.exited) return res;
        if (Date.now() >= end) {
          process.stderr.write("timeout reached, returning pid\n");
          return { pid };
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    outsub: (res) => process.stdout.write(`${perlPretty(res)}\n`),
  },
  "exec-status": {
    cls: "PVE::API2::Qemu::Agent",
    method: "exec-status",
    properties: { node: { type: "string" }, vmid: { type: "integer", format: "pve-vmid" }, pid: { type: "integer" } },
    argParam: ["vmid", "pid"],
    fixed: { node: NODE },
    code: async (param) => execStatus(vmidOf(param), loadVmConfig(vmidOf(param)), Number(param.pid)),
    outsub: (res) => process.stdout.write(`${perlPretty(res)}\n`),
  },
  cmd: {
    cls: "PVE::API2::Qemu::Agent",
    method: "agent",
    properties: { node: { type: "string" }, vmid: { type: "integer", format: "pve-vmid" }, command: { type: "string", enum: AGENT_COMMANDS } },
    argParam: ["vmid", "command"],
    fixed: { node: NODE },
    code: async (param) => {
      const vmid = vmidOf(param);
      const conf = loadVmConfig(vmid);
      // guest-shutdown and the suspends answer nothing: the guest goes away
      const noReply = param.command === "shutdown" || String(param.command).startsWith("suspend-");
      const res = await agentCmd(vmid, conf, `guest-${param.command}`, undefined, noReply);
      return noReply ? undefined : res;
    },
    outsub: (res) => {
      if (res !== undefined) process.stdout.write(`${perlPretty(res)}\n`);
    },
  },
};
