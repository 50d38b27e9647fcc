/**
 * One error tree for the whole program. Every error carries the one-line message a user sees
 * (on stderr and, with --log, as {"level":"error","msg":...}) and the process exit code.
 */
export class NexcageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad user input: flags, ids, signals, paths. */
export class InvalidArgumentError extends NexcageError {}

/** The container id is not known (runc: "container does not exist"). */
export class ContainerNotFoundError extends NexcageError {
  constructor(readonly id: string) {
    super("container does not exist");
  }
}

/** create with an id that is taken (runc: "container with given ID already exists"). */
export class ContainerExistsError extends NexcageError {
  constructor(readonly id: string) {
    super("container with given ID already exists");
  }
}

/** The requested operation is not allowed in the container's current status. */
export class StatusError extends NexcageError {}

/** runc's refusal for a container with no live process to act on (kill, pause, update, ps). */
export const NOT_RUNNING = "container not running";

/** A signal or change for a container whose process is gone (runc: "container not running"). */
export class NotRunningError extends StatusError {
  constructor() {
    super(NOT_RUNNING);
  }
}

/** Configuration file problems (schema, JSON, lookup). */
export class ConfigError extends NexcageError {}

/** The bundle or its config.json is missing or invalid. */
export class BundleError extends NexcageError {}

/** A backend tool failed; the message is the tool's own error text, cleaned to one line. */
export class BackendError extends NexcageError {}

/** A backend or capability that this build or host cannot provide. */
export class UnsupportedError extends NexcageError {}

/** Another operation holds the container's lock for too long. */
export class LockTimeoutError extends NexcageError {}

/** The lock's timeout passed while another operation held the id. */
export class ContainerBusyError extends LockTimeoutError {
  constructor(id: string) {
    super(`container ${id} is busy: another nexcage operation holds it`);
  }
}

/** Collapse any text to one line (tools print multi-line errors; we promise one line). */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, "; ").replace(/\s+/g, " ").trim();
}
