/**
 * Pure: a 64-bit digest of a path as 16 hex characters, for the name of an attached CT's directory
 * on the node (a unix socket's path must stay under 108 bytes, so the container's directory cannot
 * be used as is). Not cryptographic, and it need not be: the path is nexcage's own, and a collision
 * would only matter for two containers with the same VMID at once, which Proxmox does not allow.
 * Two lanes of FNV-1a over the UTF-16 code units, each finished with MurmurHash3's fmix32; kept
 * free of node:crypto, which costs milliseconds to load.
 */
export function dirDigest(text: string): string {
  return [0x811c9dc5, 0x9e3779b9]
    .map((seed, lane) => {
      let h = seed >>> 0;
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
