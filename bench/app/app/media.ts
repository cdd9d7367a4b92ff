// Where the benchmark's generated files live (set by bench/run.ts), and the 1 KiB body kept in memory.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const mediaRoot = process.env.BENCH_MEDIA_ROOT ?? '/nonexistent';

/** `[...path]` segments as a path below the media root (`..` dropped: these are naive handlers). */
export function mediaPath(segments: string[] = []): string {
  return path.join(/* turbopackIgnore: true */ mediaRoot, ...segments.filter((segment) => segment !== '..'));
}

let small: Uint8Array<ArrayBuffer> | undefined;

/** The 1 KiB file's bytes, read once on first use (not at build time) and then served from memory. */
export function smallBody(): Uint8Array<ArrayBuffer> {
  small ??= new Uint8Array(readFileSync(path.join(/* turbopackIgnore: true */ mediaRoot, '1k.bin')));
  return small;
}
