import { StatusError } from "../errors.js";

/** OCI runtime-spec statuses (plus `paused`, which runc and crun report too). */
export const STATUSES = ["creating", "created", "running", "paused", "stopped"] as const;
export type Status = (typeof STATUSES)[number];

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
  kill: { from: ["created", "running", "paused"], refuse: () => "container not running" },
  delete: {
    from: ["created", "stopped"],
    refuse: (id, s) => `cannot delete container ${id} that is not stopped: ${s}`,
  },
  pause: { from: ["running"], to: "paused", refuse: () => "container not running" },
  resume: { from: ["paused"], to: "running", refuse: () => "container not paused" },
  exec: {
    from: ["created", "running"],
    refuse: (_id, s) => (s === "paused" ? "cannot exec in a paused container" : "cannot exec in a stopped container"),
  },
  update: { from: ["created", "running", "paused"], refuse: () => "container not running" },
  ps: { from: ["created", "running", "paused"], refuse: () => "container not running" },
};

export function isAllowed(op: Operation, status: Status): boolean {
  return RULES[op].from.includes(status);
}

/** Throws runc's refusal when `op` is not allowed from `status`; returns the next status. */
export function transition(op: Operation, id: string, status: Status): Status {
  const rule = RULES[op];
  if (!rule.from.includes(status)) throw new StatusError(rule.refuse(id, status));
  return rule.to ?? status;
}
