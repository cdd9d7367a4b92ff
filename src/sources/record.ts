/**
 * `record(...)`: the app looks up its own record (an invoice, an upload row) and names the file
 * behind it, with metadata overrides — django-downloadview's ObjectDownloadView, every override honoured.
 */
import { DownloadError, invalidOption } from '../errors.js';
import type { DownloadFile, Located, RequestContext, Source } from '../types.js';
import { checkAppMetadata } from './metadata.js';

export interface RecordFile {
  /** The file behind the record: `media.file(row.path)` or `virtualFile({...})`. */
  file: Located | null;
  /** Download name (Content-Disposition and Content-Type lookup). */
  filename?: string;
  contentType?: string;
  /**
   * Size in bytes. For files whose real size is known it must agree (a mismatch is a 500,
   * never a corrupt download); for streamed virtual content it supplies the length.
   */
  size?: number;
  /** Modification time for Last-Modified and the weak ETag. */
  mtime?: Date;
  /** A full entity-tag (`"rev-42"`), e.g. a content hash stored with the record. */
  etag?: string;
}

export interface RecordOptions<TRecord> {
  /** Look the record up; `null`/`undefined` is a 404. */
  find: (request: Request, context: RequestContext) => TRecord | null | undefined | Promise<TRecord | null | undefined>;
  /** Name the file behind a record (no I/O needed: `load()` happens after `authorize`). */
  file: (record: TRecord) => RecordFile | null | undefined;
}

export interface RecordSource<TRecord> extends Source<TRecord> {
  readonly kind: 'record';
}

/**
 * @example
 * const media = filesystem({ root: '/srv/invoices' });
 * export const GET = downloadHandler({
 *   source: record({
 *     find: (request, { params }) => db.invoice.findUnique({ where: { id: String(params.id) } }),
 *     file: (invoice) => ({ file: media.file(invoice.path), filename: `invoice-${invoice.number}.pdf` }),
 *   }),
 *   authorize: (request, target) => target.record?.ownerId === currentUser(request)?.id || 'not-found',
 * });
 */
export function record<TRecord>(options: RecordOptions<TRecord>): RecordSource<TRecord> {
  if (typeof options?.find !== 'function') invalidOption('record.find', 'must be a function');
  if (typeof options.file !== 'function') invalidOption('record.file', 'must be a function');
  return {
    kind: 'record',
    async locate(request, context): Promise<Located<TRecord> | null> {
      const found = await options.find(request, context);
      if (found === null || found === undefined) return null;
      const described = options.file(found);
      if (!described?.file) return null;
      const inner = described.file;
      try {
        checkAppMetadata(described, 'record');
      } catch (error) {
        inner.dispose?.();
        throw error;
      }
      return {
        target: { ...inner.target, record: found },
        load: async () => {
          const file = await inner.load();
          if (!file) return null;
          try {
            return applyOverrides(file, described);
          } catch (error) {
            file.dispose?.();
            throw error;
          }
        },
        dispose: () => inner.dispose?.(),
      };
    },
  };
}

function applyOverrides(file: DownloadFile, described: RecordFile): DownloadFile {
  if (described.size !== undefined && file.size !== undefined && described.size !== file.size) {
    throw new DownloadError('length_mismatch', `record declares ${described.size} bytes, file has ${file.size}`);
  }
  const mtime = described.mtime ?? file.mtime;
  return {
    ...file,
    name: described.filename ?? file.name,
    contentType: described.contentType ?? file.contentType,
    size: described.size ?? file.size,
    mtime,
    // A changed mtime invalidates a source ETag derived from the old one.
    etag: described.etag ?? (described.mtime ? undefined : file.etag),
    open: file.open,
    dispose: file.dispose,
  };
}
