/** One error class for everything that is not an expected HTTP outcome. */

export type DownloadErrorCode =
  | 'not_found' // the file does not exist, or the key was refused (traversal, dotfile, ...)
  | 'invalid_options' // configuration error, thrown when a factory is called
  | 'file_changed' // the file was replaced between stat and open
  | 'length_mismatch' // a declared size disagrees with the bytes
  | 'source_error' // anything else a source failed on
  | 'upstream_error' // a remote source's upstream refused, failed or answered something unusable
  | 'upstream_timeout'; // a remote source's upstream did not answer in time

const statusByCode: Record<DownloadErrorCode, number> = {
  not_found: 404,
  invalid_options: 500,
  file_changed: 503,
  length_mismatch: 500,
  source_error: 500,
  // RFC 9110 §15.6.3/§15.6.5: we are the gateway; our client is not the upstream's client, so
  // even an upstream 401/403 is our failure, never a reason to challenge our client.
  upstream_error: 502,
  upstream_timeout: 504,
};

/**
 * Raised by sources and the handler. `status` is what the client gets; the message and `cause`
 * go only to the `onError` hook, never into a response.
 */
export class DownloadError extends Error {
  readonly code: DownloadErrorCode;
  readonly status: number;

  constructor(code: DownloadErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DownloadError';
    this.code = code;
    this.status = statusByCode[code];
  }
}

/** `number`, `null`, `ArrayBuffer`, …: what a wrong value was, for an error message. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
}

/** Throw an `invalid_options` error naming the option, at factory time. */
export function invalidOption(option: string, expectation: string): never {
  throw new DownloadError('invalid_options', `next-downloadview: option \`${option}\` ${expectation}`);
}
