// @ts-check
// The two JSON protocols qemu-server speaks to a running VM over its unix sockets: QMP (QEMU's
// monitor, /var/run/qemu-server/<vmid>.qmp) and the guest agent (the virtio-serial channel QEMU
// exposes as /var/run/qemu-server/<vmid>.qga, answered by qemu-guest-agent inside the guest).
// One connection per command, as PVE::QMPClient does.
import { connect } from "node:net";

/** @typedef {{ return?: any, error?: { class: string, desc: string }, event?: string, QMP?: any }} Message */

class Timeout extends Error {}
export const isTimeout = (e) => e instanceof Timeout;

/**
 * A connection that yields the JSON messages the peer sends (one per line; the agent's 0xFF
 * sync delimiter is dropped).
 * @param {string} path
 * @param {number} timeoutMs the whole exchange's deadline
 */
function open(path, timeoutMs) {
  const sock = connect(path);
  /** @type {Message[]} */
  const queue = [];
  /** @type {((m: Message | Error) => void) | undefined} */
  let waiting;
  let buf = "";
  let failure;
  const fail = (e) => {
    failure ??= e;
    if (waiting) waiting(failure);
  };
  const timer = setTimeout(() => fail(new Timeout(`timeout on ${path}`)), timeoutMs);
  sock.setEncoding("latin1");
  sock.on("data", (d) => {
    buf += String(d).replace(/\xff/g, "");
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!line) continue;
      let m;
      try {
        m = JSON.parse(Buffer.from(line, "latin1").toString("utf8"));
      } catch {
        continue; // half a message left by an earlier client
      }
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(m);
      } else queue.push(m);
    }
  });
  sock.on("error", fail);
  sock.on("close", () => fail(new Error(`${path}: connection closed`)));
  return {
    /** @returns {Promise<Message>} */
    next() {
      const m = queue.shift();
      if (m) return Promise.resolve(m);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        waiting = (v) => (v instanceof Error ? reject(v) : resolve(v));
      });
    },
    send(obj) {
      sock.write(`${JSON.stringify(obj)}\n`);
    },
    close() {
      clearTimeout(timer);
      sock.destroy();
    },
  };
}

/** the next reply (not an event) */
async function reply(c) {
  for (;;) {
    const m = await c.next();
    if (m.event === undefined) return m;
  }
}

/**
 * One QMP command; resolves with its `return`, rejects with an Error carrying QMP's `desc`.
 * @param {string} path
 * @param {string} execute
 * @param {Record<string, any>} [args]
 */
export async function qmp(path, execute, args, timeoutMs = 5000) {
  const c = open(path, timeoutMs);
  try {
    await c.next(); // greeting
    c.send({ execute: "qmp_capabilities" });
    await reply(c);
    c.send(args ? { execute, arguments: args } : { execute });
    const r = await reply(c);
    if (r.error) throw new Error(r.error.desc);
    return r.return;
  } finally {
    c.close();
  }
}

let syncId = Math.trunc(Math.random() * 1e9);

/**
 * One guest-agent command after a guest-sync-delimited handshake (which discards whatever an
 * earlier client left unread). `noReply`: commands the agent does not answer (guest-shutdown).
 * @param {string} path
 * @param {string} execute
 * @param {Record<string, any>} [args]
 */
export async function qga(path, execute, args, timeoutMs = 10_000, noReply = false) {
  const c = open(path, timeoutMs);
  try {
    const id = ++syncId;
    c.send({ execute: "guest-sync-delimited", arguments: { id } });
    for (;;) {
      const m = await c.next();
      if (m.return === id) break;
    }
    c.send(args ? { execute, arguments: args } : { execute });
    if (noReply) return undefined;
    const r = await c.next();
    if (r.error) throw Object.assign(new Error(r.error.desc), { agent: true });
    return r.return;
  } finally {
    c.close();
  }
}
