import type { NotificationView } from './contracts.js';

/**
 * The feed's position: the seq of the last notification delivered. Whatever transport (or
 * several at once, across reconnects) brings a notification, it is delivered once, in seq order:
 * anything at or below the cursor is a duplicate; anything past the next seq is held back until
 * the gap is filled by a read from the cursor.
 */
export class SeqCursor {
  private readonly ahead = new Map<number, NotificationView>();

  constructor(private seq = 0) {}

  get value(): number {
    return this.seq;
  }

  /** How many notifications wait behind a gap. */
  get held(): number {
    return this.ahead.size;
  }

  /** A notification from a live stream: returns what to deliver now, and whether a gap is open. */
  push(n: NotificationView): { ready: NotificationView[]; gap: boolean } {
    const ready: NotificationView[] = [];
    if (n.seq === this.seq + 1) {
      this.seq = n.seq;
      ready.push(n);
      this.drain(ready);
    } else if (n.seq > this.seq + 1) this.ahead.set(n.seq, n);
    return { ready, gap: this.ahead.size > 0 };
  }

  /**
   * A page read from the poll endpoint after the cursor: authoritative, so it is taken even where
   * it skips seqs (history trimmed by retention starts past them).
   */
  fill(items: readonly NotificationView[]): NotificationView[] {
    const ready: NotificationView[] = [];
    for (const n of [...items].sort((a, b) => a.seq - b.seq)) {
      if (n.seq <= this.seq) continue;
      this.seq = n.seq;
      ready.push(n);
    }
    this.drain(ready);
    return ready;
  }

  /** Gives up waiting for a gap to fill: delivers what is held, in order. */
  flush(): NotificationView[] {
    return this.fill([...this.ahead.values()]);
  }

  /** Moves the cursor (the server's history is not the one the cursor came from); held items go. */
  reset(seq: number): void {
    this.seq = seq;
    this.ahead.clear();
  }

  private drain(ready: NotificationView[]): void {
    for (const seq of [...this.ahead.keys()]) if (seq <= this.seq) this.ahead.delete(seq);
    for (let next = this.ahead.get(this.seq + 1); next !== undefined;) {
      this.ahead.delete(next.seq);
      this.seq = next.seq;
      ready.push(next);
      next = this.ahead.get(this.seq + 1);
    }
  }
}
