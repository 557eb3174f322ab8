import { Logger } from '@nestjs/common';
import { inBackground } from '../common/background';

export interface Sequenced {
  seq: number;
}

/** Streams read at the same time by a resync. */
const RESYNC_CONCURRENCY = 8;

export interface SequencerOptions<T extends Sequenced> {
  /** How long an early event waits for the ones before it before they are read from the database. */
  gapTimeoutMs: number;
  /**
   * Items with afterSeq < seq < beforeSeq (beforeSeq null: no upper bound), ascending, at most
   * `limit` of them.
   */
  fetch: (key: string, afterSeq: number, beforeSeq: number | null, limit: number) => Promise<T[]>;
  deliver: (key: string, item: T) => void;
  /** Rows read per database round trip when filling a gap (default 500). */
  pageSize?: number;
}

interface Stream<T> {
  /** The seq delivered last. */
  delivered: number;
  pending: Map<number, T>;
  timer: NodeJS.Timeout | null;
  fetching: boolean;
  /** A resync was asked for while a read was under way: read again once it ends. */
  resyncWanted: boolean;
}

/**
 * Delivers each stream's events (a room's messages, a user's notifications) in seq order and
 * exactly once on this instance. Events come from the bus in the order their publishers sent
 * them, which two instances can interleave; seqs are gapless, so a missing one is noticed, waited
 * for briefly, then read from the database, page by page however long the gap. After the bus
 * may have lost events (its subscriber reconnected), `resyncAll` reads what every stream missed
 * without waiting for a newer event to reveal the gap.
 */
export class Sequencer<T extends Sequenced> {
  private readonly logger = new Logger('Sequencer');
  private readonly streams = new Map<string, Stream<T>>();
  private readonly pageSize: number;

  constructor(private readonly options: SequencerOptions<T>) {
    this.pageSize = options.pageSize ?? 500;
  }

  /** Starts tracking a stream whose subscribers already have everything up to `lastSeq`. */
  track(key: string, lastSeq: number): void {
    if (this.streams.has(key)) return;
    this.streams.set(key, {
      delivered: lastSeq,
      pending: new Map(),
      timer: null,
      fetching: false,
      resyncWanted: false,
    });
  }

  /** No local subscriber is left for the stream. */
  untrack(key: string): void {
    const stream = this.streams.get(key);
    if (stream?.timer) clearTimeout(stream.timer);
    this.streams.delete(key);
  }

  size(): number {
    return this.streams.size;
  }

  push(key: string, item: T): void {
    const stream = this.streams.get(key);
    if (stream === undefined || item.seq <= stream.delivered) return; // nobody here, or a repeat
    if (item.seq === stream.delivered + 1 && !stream.fetching) {
      this.emit(key, stream, item);
      this.drain(key, stream);
      return;
    }
    stream.pending.set(item.seq, item);
    this.arm(key, stream);
  }

  /**
   * Reads, for every stream, whatever was committed after what it delivered. A few streams at a
   * time, so ten thousand tracked rooms do not become ten thousand queries at once.
   */
  async resyncAll(concurrency = RESYNC_CONCURRENCY): Promise<void> {
    const keys = [...this.streams.keys()];
    const worker = async (): Promise<void> => {
      for (let key = keys.pop(); key !== undefined; key = keys.pop()) {
        const stream = this.streams.get(key);
        if (stream === undefined) continue;
        if (stream.fetching) {
          stream.resyncWanted = true;
          continue;
        }
        if (stream.timer !== null) clearTimeout(stream.timer);
        stream.timer = null;
        await this.fill(key, stream, true);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  private arm(key: string, stream: Stream<T>): void {
    if (stream.timer !== null || stream.fetching) return;
    stream.timer = setTimeout(() => {
      stream.timer = null;
      this.startFill(key, stream, false);
    }, this.options.gapTimeoutMs);
    stream.timer.unref();
  }

  private startFill(key: string, stream: Stream<T>, resync: boolean): void {
    inBackground(this.logger, `gap fill for ${key}`, () => this.fill(key, stream, resync));
  }

  private emit(key: string, stream: Stream<T>, item: T): void {
    stream.delivered = item.seq;
    try {
      this.options.deliver(key, item);
    } catch (err) {
      this.logger.error(
        `delivery for ${key} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** Delivers what is pending in order, and forgets what is at or below the delivered seq. */
  private drain(key: string, stream: Stream<T>): void {
    for (
      let next = stream.pending.get(stream.delivered + 1);
      next !== undefined;
      next = stream.pending.get(stream.delivered + 1)
    ) {
      stream.pending.delete(next.seq);
      this.emit(key, stream, next);
    }
    // Copies that arrived live while a read delivered the same seqs: without this they would sit
    // in pending for ever and keep a gap timer firing.
    for (const seq of stream.pending.keys())
      if (seq <= stream.delivered) stream.pending.delete(seq);
    if (stream.pending.size === 0 && stream.timer !== null) {
      clearTimeout(stream.timer);
      stream.timer = null;
    }
  }

  /**
   * Reads from the database, page by page: up to the first pending event (a gap), or with no
   * upper bound (a resync). What cannot be read (the database is down, or the rows are gone) is
   * skipped rather than stalling the stream; its clients catch up by seq.
   */
  private async fill(key: string, stream: Stream<T>, resync: boolean): Promise<void> {
    if (this.streams.get(key) !== stream) return;
    this.drain(key, stream);
    if (!resync && stream.pending.size === 0) return;
    stream.fetching = true;
    const upTo = stream.pending.size > 0 ? Math.min(...stream.pending.keys()) : null;
    try {
      for (;;) {
        const page = await this.options.fetch(key, stream.delivered, upTo, this.pageSize);
        if (this.streams.get(key) !== stream) return;
        for (const item of page) {
          if (item.seq <= stream.delivered) continue;
          // The database has no rows in between (retention removed them): go on from here.
          if (item.seq > stream.delivered + 1)
            this.logger.warn(
              `${key}: seq ${stream.delivered + 1}-${item.seq - 1} no longer stored`,
            );
          this.emit(key, stream, item);
        }
        if (page.length < this.pageSize) break;
        if (upTo !== null && stream.delivered >= upTo - 1) break;
      }
      if (upTo !== null && stream.delivered < upTo - 1) {
        this.logger.warn(
          `${key}: seq ${stream.delivered + 1}-${upTo - 1} unavailable; delivering from ${upTo}`,
        );
        stream.delivered = upTo - 1;
      }
    } catch (err) {
      this.logger.warn(
        `${key}: gap fill failed (${err instanceof Error ? err.message : String(err)})` +
          (upTo !== null ? `; delivering from ${upTo}` : ''),
      );
      if (upTo !== null) stream.delivered = Math.max(stream.delivered, upTo - 1);
    } finally {
      stream.fetching = false;
    }
    this.drain(key, stream);
    if (stream.resyncWanted) {
      stream.resyncWanted = false;
      this.startFill(key, stream, true);
    } else if (stream.pending.size > 0) this.arm(key, stream);
  }
}
