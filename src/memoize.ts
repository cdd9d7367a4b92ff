/**
 * Remember a pure function of two arguments. Header values computed from a file name (the type
 * lookup, sanitising, RFC 8187 encoding) cost microseconds per request, and a server sends the
 * same few names over and over. At most `max` results are kept; beyond that the cache starts
 * afresh, so the number of entries stays bounded whatever names arrive. String arguments longer
 * than {@link MAX_KEY_LENGTH} are computed every time and not kept, so the memory stays bounded
 * too (1,024 names of 1 MiB each would otherwise pin a GiB).
 */
export function memoize<A, B, R>(compute: (first: A, second: B) => R, max = 1024): (first: A, second: B) => R {
  const byFirst = new Map<A, Map<B, R>>();
  let size = 0;
  return (first, second) => {
    if (isLongString(first) || isLongString(second)) return compute(first, second);
    let bySecond = byFirst.get(first);
    if (bySecond?.has(second)) return bySecond.get(second)!;
    const result = compute(first, second);
    if (size >= max) {
      byFirst.clear();
      size = 0;
      bySecond = undefined;
    }
    if (!bySecond) byFirst.set(first, (bySecond = new Map()));
    bySecond.set(second, result);
    size += 1;
    return result;
  };
}

/** Longer than any real file name (255 bytes on every common filesystem) or media type. */
export const MAX_KEY_LENGTH = 1024;

function isLongString(value: unknown): boolean {
  return typeof value === 'string' && value.length > MAX_KEY_LENGTH;
}
