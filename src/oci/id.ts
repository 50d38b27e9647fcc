import { InvalidArgumentError } from "../errors.js";

/** Longest id accepted: keeps <root>/<id>/<backend>/<id>/... within NAME_MAX and socket path limits. */
export const MAX_ID_LENGTH = 128;

const ID_PATTERN = /^[A-Za-z0-9_+\-.]+$/;

/**
 * runc's rule (letters, digits, `_+-.`, never `.` or `..`, not empty) plus a length bound.
 * crun 1.8.1 accepts `..` and `crun delete -f ..` empties the parent of its root, so an id is always
 * checked before any backend sees it.
 */
export function validateContainerId(id: string): string {
  if (id === "") throw new InvalidArgumentError("invalid container ID format: empty");
  if (id.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(`invalid container ID format: longer than ${MAX_ID_LENGTH} characters`);
  }
  if (id === "." || id === ".." || !ID_PATTERN.test(id)) {
    throw new InvalidArgumentError(`invalid container ID format: ${JSON.stringify(id)}`);
  }
  return id;
}
