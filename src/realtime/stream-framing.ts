import type {
  NotificationNdjsonLine,
  NotificationView,
  Quote,
  StockNdjsonLine,
} from '../contracts';
import { jitteredRetryMs, SSE_HEADERS, sseComment, sseEvent, sseRetry } from './sse';

/**
 * How a push stream's events are written on the wire. The notification and quote streams are
 * each one edge with two framings, Server-Sent Events and NDJSON: the edge decides what is sent
 * and when, the framing only how it looks.
 */
export interface StreamFraming {
  readonly transport: 'sse' | 'ndjson';
  readonly headers: Readonly<Record<string, string>>;
  /** The same as one name/value list, the form `writeHead` takes without building an object. */
  readonly headerList: readonly string[];
  /** The stream's first bytes, once it opens; `lastSeq` on the notification feed only. */
  opening(lastSeq: number | null): string;
  readonly heartbeat: string;
  notification(n: NotificationView): string;
  resync(lastSeq: number): string;
  quote(q: Quote): string;
}

const listOf = (headers: Readonly<Record<string, string>>): readonly string[] =>
  Object.entries(headers).flat();

export const SSE_FRAMING: StreamFraming = {
  transport: 'sse',
  headers: SSE_HEADERS,
  headerList: listOf(SSE_HEADERS),
  // A retry hint drawn per stream, so that a quiet stream still fires EventSource's `open`.
  opening: () => sseRetry(jitteredRetryMs()),
  heartbeat: sseComment('heartbeat'),
  // The seq is the event id: a reconnecting EventSource resumes with Last-Event-ID.
  notification: (n) => sseEvent({ id: n.seq, event: 'notification', data: JSON.stringify(n) }),
  resync: (lastSeq) => sseEvent({ event: 'resync', data: JSON.stringify({ lastSeq }) }),
  quote: (q) => sseEvent({ event: 'quote', data: JSON.stringify(q) }),
};

/** JSON.stringify escapes every control character, so a line can never hold a raw `\n`. */
const line = (value: NotificationNdjsonLine | StockNdjsonLine): string =>
  `${JSON.stringify(value)}\n`;

export const NDJSON_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/x-ndjson',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

export const NDJSON_FRAMING: StreamFraming = {
  transport: 'ndjson',
  headers: NDJSON_HEADERS,
  headerList: listOf(NDJSON_HEADERS),
  opening: (lastSeq) => (lastSeq === null ? '' : line({ type: 'open', lastSeq })),
  heartbeat: line({ type: 'heartbeat' }),
  notification: (notification) => line({ type: 'notification', notification }),
  resync: (lastSeq) => line({ type: 'resync', lastSeq }),
  quote: (quote) => line({ type: 'quote', quote }),
};

/**
 * One event encoded at most once per framing, for every local stream that writes it: a
 * notification for a user with only SSE streams never pays for NDJSON's encoding, and a quote
 * is serialised once per framing however many clients stream it.
 */
export class FramedEvent<T> {
  private sse: string | undefined;
  private ndjson: string | undefined;

  constructor(
    readonly value: T,
    private readonly encode: (framing: StreamFraming, value: T) => string,
  ) {}

  in(framing: StreamFraming): string {
    if (framing.transport === 'sse') return (this.sse ??= this.encode(framing, this.value));
    return (this.ndjson ??= this.encode(framing, this.value));
  }
}
