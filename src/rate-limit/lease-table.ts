/**
 * Slots of shared rate-limit windows that this instance has taken from Redis ahead of need.
 *
 * Redis counts a window's slots as used the moment it grants them, so slots held here are part
 * of the cross-instance count. What a lease risks is the opposite error, a slot held here while
 * the user sends through another instance: so a lease grows only while its user keeps coming back
 * (doubling per ask, from none for a user seen once), never past a quarter of the limit; slots
 * idle for `idleMs` go back; and Redis hands a lease's slots to another instance when the user's
 * checks arrive there with the window otherwise full (the holder hears of it on the bus, and from
 * its next report). Use is reported as a running total (`total`) with every ask and by `sweep`,
 * so Redis never counts a use twice.
 * Pure logic (the clock is passed in), so it is tested without Redis.
 */
export interface Lease {
  /** The Redis window these slots belong to (its id, set when the window was created). */
  window: string;
  /** Slots granted and not yet used, as far as this instance knows. */
  remaining: number;
  /** Leased slots used in this window so far, less those refunded: the running total. */
  total: number;
  /** The running total last sent to Redis (-1: the last report may not have arrived). */
  reported: number;
  /** Redis may hold slots for us here: give them back when the lease is given up. */
  holds: boolean;
  /** Local time the window ends; measured from when the ask was sent, so never late. */
  expiresAt: number;
  /** Spare slots to ask for next time (0 for a bucket seen once). */
  extra: number;
  lastUsed: number;
}

/** What an ask for a bucket carries: the spare wanted, and the lease's use so far. */
export interface AskTerms {
  extra: number;
  window: string;
  total: number;
}

/** What Redis answered to an ask for one bucket. */
export interface LeaseReply {
  window: string;
  /** Waiting checks allowed. */
  allowed: number;
  /** Slots Redis holds for this instance after the ask. */
  held: number;
  ttlMs: number;
}

/** A report to Redis of a lease's use; `release` gives its unused slots back too. */
export interface Settlement {
  bucket: string;
  window: string;
  total: number;
  release: boolean;
}

/** The most spare slots one ask takes, whatever the limit. */
const MAX_EXTRA = 1024;
export const NO_LEASE: AskTerms = Object.freeze({ extra: 0, window: '', total: 0 });

export class LeaseTable {
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly idleMs: number) {}

  get size(): number {
    return this.leases.size;
  }

  /** Uses one leased slot if the bucket has one in a live window; returns that window's id. */
  take(bucket: string, now: number): string | null {
    const lease = this.leases.get(bucket);
    if (lease === undefined || lease.remaining === 0 || lease.expiresAt <= now) return null;
    lease.remaining--;
    lease.total++;
    lease.lastUsed = now;
    return lease.window;
  }

  /**
   * The terms of the next ask for `bucket` with `waiting` checks: no spare the first time, then
   * doubling each time the user asks again while known here, up to a quarter of the limit. A
   * burst (several checks at once) asks for none: it is one round trip anyway, and leasing ahead
   * while a user floods two instances only feeds what the other takes back.
   */
  ask(bucket: string, limit: number, waiting: number, now: number): AskTerms {
    const lease = this.leases.get(bucket);
    if (lease === undefined) return NO_LEASE;
    lease.lastUsed = now;
    if (waiting === 1)
      lease.extra = Math.min(Math.floor(limit / 4), MAX_EXTRA, Math.max(1, lease.extra * 2));
    lease.reported = lease.total;
    return { extra: waiting === 1 ? lease.extra : 0, window: lease.window, total: lease.total };
  }

  /**
   * Records Redis's answer to an ask sent at `sentAt` with `terms`, and returns how many of the
   * waiting checks are allowed. The lease ends no later than the window in Redis does.
   */
  granted(bucket: string, reply: LeaseReply, terms: AskTerms, sentAt: number): number {
    let lease = this.leases.get(bucket);
    if (lease === undefined || lease.window !== reply.window) {
      // A new window: what was left of the old one died with it; the user's pace carries over.
      lease = {
        window: reply.window,
        remaining: reply.held,
        total: 0,
        reported: 0,
        holds: false,
        expiresAt: 0,
        extra: lease?.extra ?? 0,
        lastUsed: sentAt,
      };
      this.leases.set(bucket, lease);
    } else {
      // What Redis holds for us, less what was used here since the ask left.
      lease.remaining = Math.max(0, reply.held - (lease.total - terms.total));
    }
    if (reply.held > 0) lease.holds = true;
    lease.expiresAt = sentAt + reply.ttlMs;
    return reply.allowed;
  }

  /** An ask or report that may not have reached Redis: report again at the next sweep. */
  unsent(bucket: string, window: string): void {
    const lease = this.leases.get(bucket);
    if (lease !== undefined && lease.window === window) {
      lease.reported = -1;
      lease.holds = true;
    }
  }

  /** Another instance took `slots` of this lease: use that many fewer. */
  revoked(bucket: string, window: string, slots: number): void {
    const lease = this.leases.get(bucket);
    if (lease !== undefined && lease.window === window)
      lease.remaining = Math.max(0, lease.remaining - slots);
  }

  /** A report's answer: what Redis holds for us after it (sent with `total`), -1: window gone. */
  settled(bucket: string, window: string, total: number, held: number): void {
    const lease = this.leases.get(bucket);
    if (lease === undefined || lease.window !== window) return;
    if (held < 0) this.leases.delete(bucket);
    else lease.remaining = Math.max(0, held - (lease.total - total));
  }

  /** Takes back a slot used in `window` into the live lease there; false when there is none. */
  refund(bucket: string, window: string, now: number): boolean {
    const lease = this.leases.get(bucket);
    if (lease === undefined || lease.window !== window || lease.expiresAt <= now) return false;
    lease.remaining++;
    lease.total--;
    lease.holds = true;
    return true;
  }

  /**
   * Drops leases whose window ended, gives up those idle for `idleMs` (what Redis holds for them
   * goes back), and reports the use of the others: reported, a slot used here is never handed to
   * another instance again.
   */
  sweep(now: number): Settlement[] {
    const out: Settlement[] = [];
    for (const [bucket, lease] of this.leases) {
      if (lease.expiresAt <= now) this.leases.delete(bucket);
      else if (now - lease.lastUsed >= this.idleMs) {
        this.leases.delete(bucket);
        if (lease.holds || lease.total !== lease.reported)
          out.push({ bucket, window: lease.window, total: lease.total, release: true });
      } else if (lease.total !== lease.reported) {
        out.push({ bucket, window: lease.window, total: lease.total, release: false });
        lease.reported = lease.total;
      }
    }
    return out;
  }

  /** Gives up every lease (shutdown): what Redis holds for live ones goes back. */
  drain(now: number): Settlement[] {
    const out: Settlement[] = [];
    for (const [bucket, lease] of this.leases)
      if (lease.expiresAt > now && (lease.holds || lease.total !== lease.reported))
        out.push({ bucket, window: lease.window, total: lease.total, release: true });
    this.leases.clear();
    return out;
  }
}
