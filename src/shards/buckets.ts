/**
 * Buckets: the Lease names of a sharded component, and which bucket a key belongs to.
 *
 * Names follow knative's `leaderelection` package: `{component}.{queue}.NN-of-MM`, lower case,
 * ordinals from 00, two digits at least. A key goes to bucket
 * `jump(fnv1a64(utf8(key)), buckets)`: FNV-1a, 64 bits, over the key's UTF-8 bytes, then Lamping
 * and Veach's jump consistent hash, so any language can compute the same owner, and growing the
 * bucket count from n to n + 1 moves only about 1/(n + 1) of the keys.
 *
 * @module
 */

/** knative's bucket Lease names: `{component}.{queue}.NN-of-MM`, lower case. */
export const bucketNames = (component: string, queue: string, buckets: number): readonly string[] => {
  if (!Number.isInteger(buckets) || buckets < 1) {
    throw new RangeError(`bucketNames: buckets must be a whole number >= 1, got ${buckets}`);
  }
  const total = String(buckets).padStart(2, "0");
  return Array.from({ length: buckets }, (_, i) => `${component}.${queue}.${String(i).padStart(2, "0")}-of-${total}`.toLowerCase());
};

const MASK = (1n << 64n) - 1n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

/** FNV-1a, 64 bits, of the UTF-8 bytes of `text`. */
export const fnv1a64 = (text: string): bigint => {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK;
  return hash;
};

/** Lamping and Veach's jump consistent hash: a bucket in [0, buckets) for a 64-bit key. */
export const jump = (key: bigint, buckets: number): number => {
  let b = -1;
  let j = 0;
  let k = key;
  while (j < buckets) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & MASK;
    j = Math.floor((b + 1) * (2147483648 / (Number(k >> 33n) + 1)));
  }
  return b;
};

/** The index of the bucket `key` belongs to, among `buckets` buckets. */
export const bucketOf = (key: string, buckets: number): number => jump(fnv1a64(key), buckets);
