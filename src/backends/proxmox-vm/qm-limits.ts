/**
 * Bounds qm's option schema puts on what a bundle can ask for (qemu-server $confdesc): values outside
 * them are refused by nexcage before anything is made, instead of by qm after a clone.
 */
export const QM_LIMITS = {
  /** `memory` (current), MiB: 16 … 8 TiB. */
  memoryMiB: { min: 16, max: 8_388_608 },
  /** `cpulimit`: 0 … 128 host CPUs. */
  cpulimit: { max: 128 },
  /** `cpuunits`: 1 … 262144. */
  cpuunits: { min: 1, max: 262_144 },
} as const;
