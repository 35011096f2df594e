/** "\0" as range_end means "every key >= key" (etcd's convention, Cairn's too). */
const FROM_KEY_END = Buffer.from([0]);

/** The smallest key greater than every key that starts with prefix (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return FROM_KEY_END;
}
