/**
 * The private hand-off that lets `next-downloadview/instrumentation` restore `Content-Length`,
 * which Next's sender strips from route-handler responses (next/dist/server/send-response.js).
 *
 * A response carries the exact byte length in a private header whose value ends with a token
 * drawn once per process; the instrumentation hook only trusts a value carrying that token, so
 * nothing outside this process (an upstream, a user header) can forge it. The header is only
 * added once the hook is installed, so without it nothing leaks to clients.
 */
import { randomUUID } from 'node:crypto';

export const LENGTH_HINT_HEADER = 'x-downloadview-length';

interface LengthHintState {
  token: string;
  installed: boolean;
}

// Shared through globalThis because Next may load the library twice (instrumentation bundle
// and route bundle); both copies must agree on the token.
const stateKey = Symbol.for('next-downloadview.length-hint');
type GlobalWithState = typeof globalThis & { [stateKey]?: LengthHintState };

export function lengthHintState(): LengthHintState {
  const g = globalThis as GlobalWithState;
  g[stateKey] ??= { token: randomUUID(), installed: false };
  return g[stateKey];
}

/** Record the exact body length for the instrumentation hook, when it is installed. */
export function setLengthHint(headers: Headers, length: number): void {
  const state = lengthHintState();
  if (state.installed) headers.set(LENGTH_HINT_HEADER, `${length};${state.token}`);
}

/** The trusted length in a hint header value, or `undefined` when absent or forged. */
export function readLengthHint(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const separator = value.indexOf(';');
  if (separator < 1 || value.slice(separator + 1) !== lengthHintState().token) return undefined;
  const digits = value.slice(0, separator);
  return /^\d{1,16}$/.test(digits) ? Number(digits) : undefined;
}
