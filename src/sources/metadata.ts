/** Checks for metadata the app supplies (virtual files, record overrides): bad values fail loudly. */
import { DownloadError } from '../errors.js';
import { isValidMediaType } from '../http/content-type.js';
import { parseEntityTag } from '../http/etag.js';

export interface AppMetadata {
  size?: number;
  mtime?: Date;
  etag?: string;
  contentType?: string;
}

// RFC 9110 §5.6.7: HTTP-date has a four-digit year.
const EARLIEST = Date.parse('0000-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** Throws a 500-class `DownloadError` naming `owner` (`record`, `virtual file`) for a bad value. */
export function checkAppMetadata(metadata: AppMetadata, owner: string): void {
  if (metadata.size !== undefined && !(Number.isSafeInteger(metadata.size) && metadata.size >= 0)) {
    throw new DownloadError('source_error', `${owner} size must be a non-negative integer`);
  }
  if (metadata.mtime !== undefined && !(metadata.mtime instanceof Date && metadata.mtime.getTime() >= EARLIEST && metadata.mtime.getTime() <= LATEST)) {
    throw new DownloadError('source_error', `${owner} mtime must be a valid Date from year 0 to 9999`);
  }
  if (metadata.etag !== undefined && (typeof metadata.etag !== 'string' || parseEntityTag(metadata.etag) === undefined)) {
    throw new DownloadError('source_error', `${owner} etag must be a quoted entity-tag like "abc" or W/"abc"`);
  }
  if (metadata.contentType !== undefined && !(typeof metadata.contentType === 'string' && isValidMediaType(metadata.contentType))) {
    throw new DownloadError('source_error', `${owner} contentType must be a media type like application/pdf`);
  }
}
