import { NOT_RUNNING, StatusError } from "../errors.js";
import type { Status } from "../names.js";

export type Operation = "start" | "kill" | "delete" | "pause" | "resume" | "exec" | "update" | "ps";

interface Rule {
  /** Statuses from which the operation may run. */
  readonly from: readonly Status[];
  /** Status after the operation succeeds (undefined: unchanged / removed). */
  readonly to?: Status;
  /** runc's message when refused, per current status. */
  readonly refuse: (id: string, status: Status) => string;
}

/** The one table of allowed transitions; messages follow runc 1.1 where it has one. */
const RULES: Readonly<Record<Operation, Rule>> = {
  start: {
    from: ["created"],
    to: "running",
    refuse: (_id, s) =>
      s === "stopped"
        ? "cannot start a container that has stopped"
        : s === "running"
          ? "cannot start an already running container"
          : `cannot start a container in the ${s} state`,
  },
  kill: { from: ["created", "running", "paused"], refuse: () => NOT_RUNNING },
  delete: {
    from: ["created", "stopped"],
    refuse: (id, s) => `cannot delete container ${id} that is not stopped: ${s}`,
  },
  pause: { from: ["running"], to: "paused", refuse: () => NOT_RUNNING },
  resume: { from: ["paused"], to: "running", refuse: () => "container not paused" },
  exec: {
    from: ["created", "running"],
    refuse: (_id, s) => (s === "paused" ? "cannot exec in a paused container" : "cannot exec in a stopped container"),
  },
  update: { from: ["created", "running", "paused"], refuse: () => NOT_RUNNING },
  ps: { from: ["created", "running", "paused"], refuse: () => NOT_RUNNING },
};

/** Throws runc's refusal when `op` is not allowed from `status`; returns the next status. */
export function transition(op: Operation, id: string, status: Status): Status {
  const rule = RULES[op];
  if (!rule.from.includes(status)) throw new StatusError(rule.refuse(id, status));
  return rule.to ?? status;
}

// ---- the exceptions to the table, kept beside it ----------------------------------------------

/** `exec` refused by the table exits 255, as runc's exec does for a container that is not running. */
export function execTransition(id: string, status: Status): Status {
  try {
    return transition("exec", id, status);
  } catch (e) {
    throw new StatusError((e as Error).message, 255);
  }
}

/**
 * `stop` is not in the table: a stopped container needs nothing (false), one still being created
 * is refused, any other gets its signals (true).
 */
export function stopNeeded(id: string, status: Status): boolean {
  if (status === "stopped") return false;
  if (status === "creating") throw new StatusError(`container ${id} is still being created`);
  return true;
}
