/** A read-only bind mount of the node running the tests (made by global-setup.ts). */
export const RO_NODE = "/tmp/nexcage-e2e-ro/node";
