/**
 * The `onDownload` lifecycle hook: one event per request the handler answered, once its outcome is
 * known (for a streamed body: when the body ended, was cut by the client, or failed). The event is
 * delivered on a later task, so the hook never delays or breaks the response; a hook that throws
 * or rejects goes to `onError`.
 */
import type { BackendName } from './proxies/backend.js';
import { parseRange, resolveRanges } from './http/range.js';
import type { ByteRange, DownloadFile, FileTarget } from './types.js';

export type DownloadOutcome =
  | 'completed' // every body byte was handed to the server (GET 200/206)
  | 'aborted' // the client left before the body ended
  | 'failed' // the body failed mid-stream (a read error, a source shorter than it declared)
  | 'offloaded' // handed to the proxy (X-Accel-Redirect / X-Sendfile): the proxy sends the bytes
  | 'head' // a HEAD answered with the download's headers
  | 'not-modified' // 304
  | 'precondition-failed' // 412
  | 'range-not-satisfiable' // 416
  | 'refused' // authorize said no (401, 403, 404 'not-found', 410, or its own Response)
  | 'not-found' // no such file (or a key the source refuses)
  | 'error'; // 500/503: the error is in `error` (and went to onError)

/** A file's metadata as the event shows it (no way to open it); `path` only for filesystem files. */
export type DownloadFileInfo = Pick<DownloadFile, 'kind' | 'name' | 'size' | 'mtime' | 'etag' | 'contentType' | 'path'>;

export interface DownloadEvent<TRecord = unknown> {
  readonly outcome: DownloadOutcome;
  /** The status the handler answered with. */
  readonly status: number;
  readonly request: Request;
  /**
   * Body bytes handed to the server (file bytes plus multipart framing). For `completed` the whole
   * body; for `aborted` what was handed over before the client left (the server's socket buffers
   * may hold some of it undelivered); 0 for everything without a body, offloads included.
   */
  readonly bytesSent: number;
  /** The body length the response declared (Content-Length), when known. */
  readonly bodyLength?: number;
  /** The byte ranges served (206), ascending after coalescing. */
  readonly ranges?: readonly ByteRange[];
  /** Milliseconds from the handler being called to the outcome. */
  readonly durationMs: number;
  /** What was asked for (absent when the request named nothing the source accepts). */
  readonly target?: FileTarget<TRecord>;
  /** The file, once it was found. */
  readonly file?: DownloadFileInfo;
  /** For `offloaded`: the backend and the exact header value the proxy was given. */
  readonly offload?: { readonly backend: BackendName; readonly location: string };
  /** For `refused`: the refusal's reason (`signed-link:expired`, …) or the verdict (`forbidden`, …). */
  readonly reason?: string;
  /** For `error` and `failed`: what went wrong (also given to onError). */
  readonly error?: unknown;
}

export type DownloadHook<TRecord = unknown> = (event: DownloadEvent<TRecord>) => unknown;

type Draft = { -readonly [K in keyof DownloadEvent]?: DownloadEvent[K] };

/** Collects one request's facts as the handler goes, and reports them exactly once. */
export class DownloadTrace {
  private readonly started = performance.now();
  private readonly facts: Draft = {};
  private reported = false;

  constructor(
    private readonly request: Request,
    private readonly hook: DownloadHook,
    private readonly onError: (error: unknown, request: Request) => void,
    private readonly maxRanges: number,
  ) {}

  located(target: FileTarget): void {
    this.facts.target = target;
  }

  loaded(file: DownloadFile): void {
    this.facts.file = { kind: file.kind, name: file.name, size: file.size, mtime: file.mtime, etag: file.etag, contentType: file.contentType, path: file.path };
  }

  refused(reason: string): void {
    this.facts.outcome = 'refused';
    this.facts.reason = reason;
  }

  offloaded(backend: BackendName, location: string): void {
    this.facts.outcome = 'offloaded';
    this.facts.offload = { backend, location };
  }

  failed(error: unknown, status: number): void {
    this.facts.error = error;
    this.facts.outcome = this.request.signal.aborted ? 'aborted' : status === 404 ? 'not-found' : 'error';
  }

  /** Report the outcome `response` stands for; a body is watched and reported when it ends. */
  finish(response: Response): Response {
    const { status } = response;
    this.facts.status = status;
    const length = response.headers.get('content-length');
    if (length !== null && status !== 304) this.facts.bodyLength = Number(length);
    if (this.facts.outcome !== undefined) return this.report(response);
    const outcome = outcomeByStatus[status];
    if (outcome !== undefined) {
      this.facts.outcome = outcome;
      return this.report(response);
    }
    if (this.request.method === 'HEAD' || response.body === null) {
      this.facts.outcome = this.request.method === 'HEAD' ? 'head' : 'completed';
      return this.report(response);
    }
    if (status === 206) this.facts.ranges = this.servedRanges();
    const body = observeBody(response.body, this.request.signal, (ending, bytes, error) => {
      this.facts.outcome = ending;
      this.facts.bytesSent = bytes;
      if (error !== undefined) this.facts.error = error;
      this.report(response);
    });
    return new Response(body, { status, statusText: response.statusText, headers: response.headers });
  }

  /** The ranges a 206 answered: the same pure steps serve.ts took (it only sends a 206 for these). */
  private servedRanges(): ByteRange[] | undefined {
    const size = this.facts.file?.size;
    const parsed = parseRange(this.request.headers.get('range'), { maxSpecs: this.maxRanges });
    if (size === undefined || parsed.kind !== 'ranges') return undefined;
    const resolved = resolveRanges(parsed.specs, size);
    return resolved.kind === 'partial' ? resolved.ranges : undefined;
  }

  private report(response: Response): Response {
    if (this.reported) return response;
    this.reported = true;
    const event = { ...this.facts, bytesSent: this.facts.bytesSent ?? 0, durationMs: performance.now() - this.started, request: this.request } as DownloadEvent;
    // A later task: the response is on its way before the hook runs, whatever the hook does.
    setTimeout(() => {
      try {
        const result = this.hook(event);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.onError(error, this.request));
      } catch (error) {
        this.onError(error, this.request);
      }
    }, 0);
    return response;
  }
}

const outcomeByStatus: Record<number, DownloadOutcome> = {
  304: 'not-modified',
  404: 'not-found',
  412: 'precondition-failed',
  416: 'range-not-satisfiable',
};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * `body` passed through unchanged, reporting once how it ended and how many bytes were handed to
 * the consumer. High-water mark 0: it never reads ahead of the consumer, so it adds no buffering.
 */
function observeBody(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  onEnd: (ending: 'completed' | 'aborted' | 'failed', bytes: number, error?: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let ended = false;
  const end = (ending: 'completed' | 'aborted' | 'failed', error?: unknown): void => {
    if (ended) return;
    ended = true;
    onEnd(ending, bytes, error);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          // A read cut short because the client left is an abort, not a failure.
          end(signal.aborted ? 'aborted' : 'failed', signal.aborted ? undefined : error);
          controller.error(error);
          return;
        }
        if (chunk.done) {
          controller.close();
          end('completed');
          return;
        }
        bytes += chunk.value.byteLength;
        controller.enqueue(chunk.value);
      },
      cancel(reason) {
        end('aborted');
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
