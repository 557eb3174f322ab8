import type { ServerResponse } from 'node:http';
import type { StreamFraming } from '../realtime/stream-framing';
import type { EncodedNotification, NotificationSink } from './notification-delivery';

/** Past this many bytes queued in the socket, a client is not reading: end its stream. */
export const STREAM_MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * One notification stream of one user, SSE or NDJSON by its framing. Live events that arrive while the backlog is being written wait
 * in a queue; everything at or below the last written seq is skipped, so the switch from backlog
 * to live has no gap and no duplicate.
 */
export class StreamSink implements NotificationSink {
  readonly transport: StreamFraming['transport'];
  private lastWritten: number;
  private queue: EncodedNotification[] | null = [];
  private closed = false;
  /** Headers beyond the framing's for the 200, kept only until it is sent. */
  private head: readonly string[] | null;

  constructor(
    readonly userId: string,
    readonly framing: StreamFraming,
    private readonly res: ServerResponse,
    cursor: number,
    private readonly onOverflow: () => void,
    head: readonly string[] = [],
  ) {
    this.transport = framing.transport;
    this.lastWritten = cursor;
    this.head = head;
  }

  get cursor(): number {
    return this.lastWritten;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  set cursor(seq: number) {
    this.lastWritten = seq;
  }

  /** Writes a backlog item (already encoded by the caller). */
  writeBacklog(seq: number, frame: string): void {
    if (seq <= this.lastWritten) return;
    this.lastWritten = seq;
    this.send(frame);
  }

  /** Backlog done: flush what arrived meanwhile and write live from now on. */
  goLive(): void {
    const queued = this.queue ?? [];
    this.queue = null;
    for (const item of queued) this.write(item);
  }

  write(encoded: EncodedNotification): void {
    if (this.queue !== null) {
      this.queue.push(encoded);
      return;
    }
    if (encoded.value.seq <= this.lastWritten) return;
    this.lastWritten = encoded.value.seq;
    this.send(encoded.in(this.framing));
  }

  send(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
    if (this.res.writableLength > STREAM_MAX_BUFFERED_BYTES) {
      // The client stopped reading. It resumes from its cursor when it reconnects.
      this.close();
      this.onOverflow();
    }
  }

  /**
   * Sends the stream's headers and first bytes (SSE: a retry hint, so a quiet stream still fires
   * `open`; NDJSON: the `open` line with the user's last seq), once. A stream ended before it
   * opened opens first, without a seq: EventSource gives up for good on a response that is not
   * an event stream, and must reconnect instead.
   */
  open(lastSeq: number | null): void {
    if (this.res.headersSent || this.res.destroyed) return;
    this.res.writeHead(200, [...this.framing.headerList, ...(this.head ?? [])]);
    this.head = null;
    const first = this.framing.opening(lastSeq);
    if (first !== '') this.res.write(first);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = null;
    this.open(null);
    if (!this.res.writableEnded) this.res.end();
  }
}
