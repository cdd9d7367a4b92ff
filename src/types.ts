/** Shared shapes: what a source hands the handler, and what the handler hands user callbacks. */

/** Route params as Next passes them (`[...path]` gives a string array). */
export type RouteParams = Record<string, string | string[] | undefined>;

/** Second argument Next passes to an App Router route handler. */
export interface RouteContext {
  params: Promise<RouteParams>;
}

/** Where a file's bytes live; decides which proxies may take it (the support grid). */
export type SourceKind = 'filesystem' | 'virtual' | 'blob' | 'remote';

/** An inclusive byte range `[start, end]`, as in `Content-Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What was asked for, before anything reveals whether it exists.
 * This is what `authorize` sees; `record` is the app's own record for `record()` sources.
 */
export interface FileTarget<TRecord = unknown> {
  readonly kind: SourceKind;
  /** The key the source resolved, e.g. `reports/2026/q3.pdf` (already decoded, validated). */
  readonly key: string;
  /** Absolute path the key maps to (filesystem only; not yet checked for existence). */
  readonly path?: string;
  /** The app's record, for `record()` sources. */
  readonly record?: TRecord;
}

/** The bytes of an opened file. Reads are positional and forward-only is enough. */
export interface FileBody {
  /**
   * Read up to `length` bytes at `position`. May return fewer (a remote source hands over what
   * arrived); an empty array means end of file. Positions never go backwards between calls.
   */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Release the underlying resource. Called exactly once by the handler. */
  close(): Promise<void>;
}

/** A file that exists, with its metadata; bytes are opened only when a body is sent. */
export interface DownloadFile {
  readonly kind: SourceKind;
  /** Default download name (a base name, unsanitised). */
  readonly name: string;
  /** Size in bytes; `undefined` when unknown (then no Range and no Content-Length). */
  readonly size: number | undefined;
  /** `false` when the bytes cannot be read from an offset (an upstream without Range): Range is then ignored. */
  readonly acceptsRanges?: boolean;
  readonly mtime?: Date;
  /** A full entity-tag including quotes (and `W/` when weak), e.g. `"abc"`. */
  readonly etag?: string;
  /** Content type the source knows (e.g. stored metadata); the name decides otherwise. */
  readonly contentType?: string;
  /** Real absolute path on this machine (filesystem files; used by proxy backends). */
  readonly path?: string;
  /** Where a remote file (blob, URL) can be fetched by a proxy or a redirected client. */
  readonly remote?: RemoteObject;
  /** Extra representation headers from the source (a remote source's allow-listed upstream headers). */
  readonly headers?: Headers;
  /**
   * Open the bytes. `size` is the length the response promises: this file's `size`, which a
   * `record()` may have declared for content of unknown length. A source that has only the app's
   * word for its length (a virtual stream) makes the body end there or fail. `ranges` are the byte
   * ranges the response will read, in order (absent: the whole file), so a remote source asks its
   * upstream for exactly those. Never called for HEAD, 304, 412 or 416 responses.
   */
  open(signal: AbortSignal, size: number | undefined, ranges?: readonly ByteRange[]): Promise<FileBody>;
  /** Release anything held for a body that will not be sent (HEAD, 304, errors). */
  dispose?(): void;
}

/** A remote file's location, for backends that hand it to a proxy or to the client. */
export interface RemoteObject {
  /**
   * A URL that serves the bytes for `method` without further credentials: a public URL, or one
   * presigned for exactly that method. Never sent to the client except by the redirect backend.
   */
  url(method: 'GET' | 'HEAD'): Promise<string>;
  /** Whether that URL works forever (a public blob) rather than for a short signed time. */
  readonly permanent: boolean;
  /** A client may be sent to the URL: it names storage meant for downloads (a blob), not an app-chosen upstream. */
  readonly redirectable: boolean;
  /** A proxy can fetch the URL without credentials that only the app holds (a `remote()` with request headers cannot). */
  readonly offloadable: boolean;
  /** The name the storage gives downloads (a blob's last pathname segment). */
  readonly filename?: string;
  /** The stored object's own Content-Type and Content-Disposition, which a redirected client gets. */
  readonly contentType?: string;
  readonly contentDisposition?: string;
}

/** A located file: `target` is shown to `authorize`, `load()` checks existence afterwards. */
export interface Located<TRecord = unknown> {
  readonly target: FileTarget<TRecord>;
  /**
   * Metadata of the file, or `null` when it does not exist (404). `signal` aborts when the client
   * leaves (a remote source stops waiting for its upstream).
   */
  load(signal?: AbortSignal): Promise<DownloadFile | null>;
  /**
   * Release what locating already holds (a ready-made stream) when `load()` will not run or
   * fails: a refusal, a 404, an error. Never called once `load()` has returned a file.
   */
  dispose?(): void;
}

/** Context given to sources and user callbacks. */
export interface RequestContext {
  params: RouteParams;
}

/** Where files come from: `filesystem()`, `virtual()`, `record()`. */
export interface Source<TRecord = unknown> {
  readonly kind: SourceKind | 'record';
  /** Map a request to a file, without revealing existence; `null` is a plain 404. */
  locate(request: Request, context: RequestContext): Promise<Located<TRecord> | null>;
}
