/**
 * A 128-bit digest of a string as 32 hex characters, for the lock's socket name (a root path and an
 * id can be longer than an abstract socket name may be). Not cryptographic, and it need not be: two
 * names that collided would only share a lock, so their calls would wait for each other; nothing
 * else depends on it. It replaces sha256 to keep node:crypto (about 5 ms of CPU to load) out of
 * every locking call.
 *
 * Four lanes of FNV-1a over the UTF-16 code units, each with its own seed, each finished with
 * MurmurHash3's fmix32 avalanche.
 */
export function nameDigest(text: string): string {
  const seeds = [0x811c9dc5, 0x9e3779b9, 0x85ebca6b, 0xc2b2ae35];
  return seeds
    .map((seed, lane) => {
      let h = (seed ^ lane) >>> 0;
      for (let i = 0; i < text.length; i++) {
        h ^= text.charCodeAt(i);
        h = Math.imul(h, 0x01000193 + 2 * lane);
      }
      h ^= text.length;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return (h >>> 0).toString(16).padStart(8, "0");
    })
    .join("");
}
