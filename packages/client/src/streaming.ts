import { HttpError, NotServedError, type HttpClient, type Query } from './http.js';
import { SseParser, type SseMessage } from './sse.js';
import { readText } from './text-stream.js';

/** The part of an EventSource the SDK uses: the browser's, or a polyfill's. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}
export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean },
) => EventSourceLike;

/** How an SSE stream is read: `auto` takes EventSource where there is one (browsers), else fetch. */
export type SseMode = 'auto' | 'eventsource' | 'fetch';

export interface StreamOptions {
  sse?: SseMode;
  /** The EventSource to use (default: the global one). */
  EventSource?: EventSourceConstructor;
  /** A fetch stream that receives nothing (not even a heartbeat) for this long is reopened. */
  idleTimeoutMs?: number;
}

export function eventSourceOf(options: StreamOptions): EventSourceConstructor | null {
  if (options.sse === 'fetch') return null;
  const ctor =
    options.EventSource ??
    (globalThis as { EventSource?: EventSourceConstructor }).EventSource ??
    null;
  if (ctor === null && options.sse === 'eventsource')
    throw new NotServedError('no EventSource here');
  return ctor;
}

export interface OpenStream {
  path: string;
  query: Query;
  /** Request headers beyond the credentials (fetch only). */
  headers?: Record<string, string>;
  /** The content type a served stream answers with. */
  contentType: string;
  signal: AbortSignal;
  idleTimeoutMs: number;
  onOpen(): void;
  onText(text: string): void;
}

/**
 * One streaming GET read with fetch, until the server ends it. An error status throws HttpError;
 * an answer that is not the stream (a proxy's page) throws NotServedError; silence for longer
 * than `idleTimeoutMs` (a connection cut without a FIN) ends it like a cut.
 */
export async function fetchStream(http: HttpClient, open: OpenStream): Promise<void> {
  const local = new AbortController();
  const abort = (): void => local.abort();
  open.signal.addEventListener('abort', abort);
  let idle: ReturnType<typeof setTimeout> | undefined;
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(abort, open.idleTimeoutMs);
  };
  try {
    touch();
    const res = await http.fetch(open.path, {
      query: open.query,
      headers: { accept: open.contentType, ...open.headers },
      signal: local.signal,
    });
    if (!res.ok) throw await HttpError.from(res);
    const type = res.headers.get('content-type') ?? '';
    if (!type.startsWith(open.contentType) || res.body === null) {
      await res.body?.cancel();
      throw new NotServedError(`${open.path} answered ${type || 'no content type'}`);
    }
    open.onOpen();
    touch();
    await readText(res.body, (text) => {
      touch();
      open.onText(text);
    });
  } catch (err) {
    if (local.signal.aborted && !open.signal.aborted)
      throw new Error(`${open.path} went silent`, { cause: err });
    throw err;
  } finally {
    clearTimeout(idle);
    open.signal.removeEventListener('abort', abort);
  }
}

/** One SSE stream read with fetch (headers allowed: Bearer, Last-Event-ID). */
export function fetchSse(
  http: HttpClient,
  open: Omit<OpenStream, 'contentType' | 'onText'>,
  onMessage: (message: SseMessage) => void,
): Promise<void> {
  const parser = new SseParser();
  return fetchStream(http, {
    ...open,
    contentType: 'text/event-stream',
    onText: (text) => parser.push(text).forEach(onMessage),
  });
}

/**
 * One SSE stream read with an EventSource, until it fails or ends. Its own reconnection is not
 * used (a ticket is single-use, and the caller resumes from its cursor): the first error closes
 * it. EventSource tells nothing of why it failed to open, so that case asks the server with a
 * fetch of the same stream, and throws what fetch saw.
 */
export function eventSourceSse(
  EventSourceCtor: EventSourceConstructor,
  http: HttpClient,
  open: {
    url: string;
    probe: () => Promise<void>;
    events: readonly string[];
    signal: AbortSignal;
    onOpen(): void;
  },
  onMessage: (message: SseMessage) => void,
): Promise<void> {
  return new Promise<boolean>((resolve) => {
    const source = new EventSourceCtor(open.url, {
      withCredentials: http.credentialsMode === 'include',
    });
    let opened = false;
    const finish = (): void => {
      source.close();
      open.signal.removeEventListener('abort', finish);
      resolve(opened);
    };
    open.signal.addEventListener('abort', finish);
    source.addEventListener('open', () => {
      opened = true;
      open.onOpen();
    });
    for (const event of open.events)
      source.addEventListener(event, (e) =>
        onMessage({ event, data: e.data, id: e.lastEventId, lastEventId: e.lastEventId }),
      );
    source.addEventListener('error', finish);
  }).then(async (opened) => {
    if (open.signal.aborted) return;
    if (opened) throw new Error('the event stream ended');
    await open.probe();
    throw new Error('the event stream failed to open');
  });
}

/** Asks for a stream and lets go as soon as the status is in: why an EventSource did not open. */
export async function probe(http: HttpClient, path: string, query: Query): Promise<void> {
  const controller = new AbortController();
  try {
    const res = await http.fetch(path, { query, signal: controller.signal });
    if (!res.ok) throw await HttpError.from(res);
  } finally {
    controller.abort();
  }
}
