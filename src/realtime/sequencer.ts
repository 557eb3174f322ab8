import { Logger } from '@nestjs/common';
import { inBackground } from '../common/background';

export interface Sequenced {
  seq: number;
}

export interface SequencerOptions<T extends Sequenced> {
  /** How long an early event waits for the ones before it before they are read from the database. */
  gapTimeoutMs: number;
  /** Items with afterSeq < seq < beforeSeq (beforeSeq null: no upper bound), ascending. */
  fetch: (key: string, afterSeq: number, beforeSeq: number | null) => Promise<T[]>;
  deliver: (key: string, item: T) => void;
}

interface Stream<T> {
  /** The seq delivered last. */
  delivered: number;
  pending: Map<number, T>;
  timer: NodeJS.Timeout | null;
  fetching: boolean;
}

/**
 * Delivers each stream's events (a room's messages, a user's notifications) in seq order and
 * exactly once on this instance. Events come from the bus in the order their publishers sent
 * them, which two instances can interleave; seqs are gapless, so a missing one is noticed, waited
 * for briefly, then read from the database. That also delivers events whose publish was lost
 * (Redis down) as soon as a later one arrives.
 */
export class Sequencer<T extends Sequenced> {
  private readonly logger = new Logger('Sequencer');
  private readonly streams = new Map<string, Stream<T>>();

  constructor(private readonly options: SequencerOptions<T>) {}

  /** Starts tracking a stream whose subscribers already have everything up to `lastSeq`. */
  track(key: string, lastSeq: number): void {
    if (this.streams.has(key)) return;
    this.streams.set(key, { delivered: lastSeq, pending: new Map(), timer: null, fetching: false });
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
    if (stream.timer === null && !stream.fetching) {
      stream.timer = setTimeout(
        () => inBackground(this.logger, `gap fill for ${key}`, () => this.fillGap(key, stream)),
        this.options.gapTimeoutMs,
      );
      stream.timer.unref();
    }
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

  private drain(key: string, stream: Stream<T>): void {
    for (
      let next = stream.pending.get(stream.delivered + 1);
      next !== undefined;
      next = stream.pending.get(stream.delivered + 1)
    ) {
      stream.pending.delete(next.seq);
      this.emit(key, stream, next);
    }
    if (stream.pending.size === 0 && stream.timer !== null) {
      clearTimeout(stream.timer);
      stream.timer = null;
    }
  }

  private async fillGap(key: string, stream: Stream<T>): Promise<void> {
    stream.timer = null;
    if (this.streams.get(key) !== stream || stream.pending.size === 0) return;
    stream.fetching = true;
    const upTo = Math.min(...stream.pending.keys());
    try {
      const missing = await this.options.fetch(key, stream.delivered, upTo);
      if (this.streams.get(key) !== stream) return;
      for (const item of missing) {
        if (item.seq === stream.delivered + 1) this.emit(key, stream, item);
      }
      if (stream.delivered < upTo - 1) {
        // Still missing: the rows are not readable (database down). Skip ahead rather than
        // stall the stream; clients catch up by seq.
        this.logger.warn(
          `${key}: seq ${stream.delivered + 1}-${upTo - 1} unavailable; delivering from ${upTo}`,
        );
        stream.delivered = upTo - 1;
      }
    } catch (err) {
      this.logger.warn(
        `${key}: gap fill failed (${err instanceof Error ? err.message : String(err)}); delivering from ${upTo}`,
      );
      stream.delivered = Math.max(stream.delivered, upTo - 1);
    } finally {
      stream.fetching = false;
    }
    this.drain(key, stream);
    if (stream.pending.size > 0 && stream.timer === null) {
      stream.timer = setTimeout(
        () => inBackground(this.logger, `gap fill for ${key}`, () => this.fillGap(key, stream)),
        this.options.gapTimeoutMs,
      );
      stream.timer.unref();
    }
  }
}
