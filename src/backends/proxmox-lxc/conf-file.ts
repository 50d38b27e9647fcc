import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BackendError } from "../../errors.js";
import { LOCK_EX, LOCK_NB, LOCK_UN, loadFlock } from "../../proc/flock.js";

/**
 * Raw `lxc.*` lines cannot be set with `pct set`; Proxmox's documented way is to edit
 * /etc/pve/lxc/<vmid>.conf. This does it the way Proxmox itself does: under the config's flock
 * (/run/lock/lxc/pve-config-<vmid>.lock), with an atomic replace, lines added after the current
 * section's keys (before `[pve:pending]` or snapshot sections).
 */
export function withRawLines(conf: string, lines: readonly string[]): string {
  for (const l of lines) {
    if (!/^lxc\.[a-z0-9_.]+: [^\n\r]*$/.test(l)) throw new BackendError(`refusing to write config line ${JSON.stringify(l)}`);
  }
  const section = conf.search(/^\[[^\]]+\]$/m);
  const head = section < 0 ? conf : conf.slice(0, section);
  const tail = section < 0 ? "" : conf.slice(section);
  const body = head.replace(/\n*$/, "\n");
  return `${body}${lines.map((l) => `${l}\n`).join("")}${tail ? `\n${tail.replace(/^\n+/, "")}` : ""}`;
}

export async function appendRawLines(confPath: string, lockPath: string, lines: readonly string[], timeoutMs: number): Promise<void> {
  if (lines.length === 0) return;
  mkdirSync(dirname(lockPath), { recursive: true });
  const fd = openSync(lockPath, "a", 0o644);
  const flock = await loadFlock();
  try {
    const deadline = Date.now() + timeoutMs;
    while (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      if (Date.now() > deadline) throw new BackendError(`cannot lock ${lockPath}: another Proxmox operation holds it`);
      await new Promise((r) => setTimeout(r, 20));
    }
    try {
      const current = readFileSync(confPath, "utf8");
      const temp = join(dirname(confPath), `.${process.pid}.nexcage.tmp`);
      writeFileSync(temp, withRawLines(current, lines), { mode: 0o640 });
      renameSync(temp, confPath);
    } finally {
      flock(fd, LOCK_UN);
    }
  } finally {
    closeSync(fd);
  }
}
