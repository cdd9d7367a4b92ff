/** Checks for metadata the app supplies (virtual files, record overrides): bad values fail loudly. */
import { DownloadError } from '../errors.js';
import { parseEntityTag } from '../http/etag.js';

export interface AppMetadata {
  size?: number;
  mtime?: Date;
  etag?: string;
}

/** Throws a 500-class `DownloadError` naming `owner` (`record`, `virtual file`) for a bad value. */
export function checkAppMetadata(metadata: AppMetadata, owner: string): void {
  if (metadata.size !== undefined && !(Number.isSafeInteger(metadata.size) && metadata.size >= 0)) {
    throw new DownloadError('source_error', `${owner} size must be a non-negative integer`);
  }
  if (metadata.mtime !== undefined && !(metadata.mtime instanceof Date && !Number.isNaN(metadata.mtime.getTime()))) {
    throw new DownloadError('source_error', `${owner} mtime must be a valid Date`);
  }
  if (metadata.etag !== undefined && (typeof metadata.etag !== 'string' || parseEntityTag(metadata.etag) === undefined)) {
    throw new DownloadError('source_error', `${owner} etag must be a quoted entity-tag like "abc" or W/"abc"`);
  }
}
