/**
 * A read-only bind mount of the node running the tests (made by global-setup.ts), private to one
 * vitest run so that concurrent runs do not unmount each other's.
 */
export const RO_NODE = process.env["NEXCAGE_E2E_RO_NODE"] ?? `/tmp/nexcage-e2e-ro-${process.pid}/node`;
