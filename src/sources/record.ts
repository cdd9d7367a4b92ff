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
  /**
   * Name the file behind a record; `null`/`undefined`, or `{ file: null }`, is a 404. May be async,
   * but needs no I/O for the file itself: `load()` happens after `authorize`.
   */
  file: (record: TRecord) => RecordFile | null | undefined | Promise<RecordFile | null | undefined>;
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
      const described = await options.file(found);
      if (described === null || described === undefined || described.file === null) return null;
      // Anything else that is not a located file is a mistake in the app, not a missing file.
      if (!isLocated(described.file)) {
        throw new DownloadError('source_error', 'record.file must return { file: source.file(key) | virtualFile({...}) | null }');
      }
      const located = described.file;
      try {
        checkRecordFile(described);
      } catch (error) {
        located.dispose?.();
        throw error;
      }
      return {
        target: { ...located.target, record: found },
        load: async (signal) => {
          const file = await located.load(signal);
          if (!file) return null;
          try {
            return applyOverrides(file, described);
          } catch (error) {
            file.dispose?.();
            throw error;
          }
        },
        dispose: () => located.dispose?.(),
      };
    },
  };
}

/** Whether an app-returned value is a located file (typed as one, but plain JavaScript can return anything). */
function isLocated(value: unknown): value is Located {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Located>).load === 'function';
}

/** The overrides the app returned: wrong types fail loudly, naming the field. */
function checkRecordFile(described: RecordFile): void {
  checkAppMetadata(described, 'record');
  if (described.filename !== undefined && (typeof described.filename !== 'string' || described.filename === '')) {
    throw new DownloadError('source_error', 'record filename must be a non-empty string');
  }
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
