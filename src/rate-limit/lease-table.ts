/**
 * Slots of shared rate-limit windows that this instance has taken from Redis ahead of need.
 *
 * Redis counts a window's slots as used the moment it grants them, so the slots held here are
 * already part of the cross-instance count: a user can never exceed a limit by using them. What a
 * lease costs is the opposite error, a slot held here while the user sends through another
 * instance; so a lease grows only while its user keeps coming back (doubling per ask, from none
 * for a user seen once), never past a quarter of the limit; slots idle for `idleMs` go back; and
 * Redis hands a lease to another instance when the user's checks arrive there with the window
 * otherwise full (the holder hears of it on the bus, and from its next report).
 * Pure logic (the clock is passed in), so it is tested without Redis.
 */
export interface Lease {
  /** The Redis window these slots belong to (its id, set when the window was created). */
  window: string;
  /** Slots granted and not yet used. */
  remaining: number;
  /** Leased slots used (less those refunded) since the last report to Redis. */
  unreported: number;
  /** Local time the window ends; measured from when the ask was sent, so never late. */
  expiresAt: number;
  /** Spare slots to ask for next time (0 for a bucket seen once). */
  extra: number;
  lastUsed: number;
  /** The window was at least half used at the last answer: its use is reported as it goes. */
  crowded: boolean;
}

/** What an ask for a bucket carries: the spare wanted, and the report of the lease's use. */
export interface AskTerms {
  extra: number;
  window: string;
  used: number;
}

/** A report to Redis of a lease's use; `release` gives its unused slots back too. */
export interface Settlement {
  bucket: string;
  window: string;
  used: number;
  release: boolean;
}

/** The most spare slots one ask takes, whatever the limit. */
const MAX_EXTRA = 1024;
const NO_LEASE: AskTerms = Object.freeze({ extra: 0, window: '', used: 0 });

export class LeaseTable {
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly idleMs: number) {}

  get size(): number {
    return this.leases.size;
  }

  /** Uses one leased slot if the bucket has one in a live window. */
  take(bucket: string, now: number): boolean {
    const lease = this.leases.get(bucket);
    if (lease === undefined || lease.remaining === 0 || lease.expiresAt <= now) return false;
    lease.remaining--;
    lease.unreported++;
    lease.lastUsed = now;
    return true;
  }

  /**
   * The terms of the next ask for `bucket` with `waiting` checks: no spare the first time, then
   * doubling each time the user asks again while known here, up to a quarter of the limit. A
   * burst (several checks at once) asks for none: it is one round trip anyway, and leasing ahead
   * while a user floods two instances is what could let them past the limit. The use reported
   * is counted as reported from now on (`unsent` puts it back if the ask fails).
   */
  ask(bucket: string, limit: number, waiting: number, now: number): AskTerms {
    const lease = this.leases.get(bucket);
    if (lease === undefined) return NO_LEASE;
    lease.lastUsed = now;
    if (waiting === 1)
      lease.extra = Math.min(Math.floor(limit / 4), MAX_EXTRA, Math.max(1, lease.extra * 2));
    const terms = {
      extra: waiting === 1 ? lease.extra : 0,
      window: lease.window,
      used: lease.unreported,
    };
    lease.unreported = 0;
    return terms;
  }

  /** An ask or report that did not reach Redis: its use is still to be reported. */
  unsent(bucket: string, window: string, used: number): void {
    const lease = this.leases.get(bucket);
    if (lease !== undefined && lease.window === window) lease.unreported += used;
  }

  /**
   * Records what Redis granted for `wanted` waiting checks (`granted` may be more, the spare, or
   * fewer when the window is full) and returns how many of the waiters are allowed. `held` is
   * what Redis now counts as leased here; `sentAt` is when the ask left, so the lease ends no
   * later than the window in Redis does.
   */
  granted(
    bucket: string,
    reply: { window: string; granted: number; held: number; ttlMs: number; crowded: boolean },
    wanted: number,
    sentAt: number,
  ): number {
    const allowed = Math.min(reply.granted, wanted);
    let lease = this.leases.get(bucket);
    if (lease === undefined || lease.window !== reply.window) {
      // A new window: slots left from the old one died with it; the user's pace carries over.
      lease = {
        window: reply.window,
        remaining: 0,
        unreported: 0,
        expiresAt: 0,
        extra: lease?.extra ?? 0,
        lastUsed: sentAt,
        crowded: false,
      };
      this.leases.set(bucket, lease);
    }
    lease.expiresAt = sentAt + reply.ttlMs;
    lease.crowded = reply.crowded;
    // What Redis holds for us, less what was used here since the ask left.
    lease.remaining = Math.max(0, reply.held - lease.unreported);
    // Refused: the window is full, so there is nothing to lease ahead until it resets.
    if (allowed < wanted) lease.extra = 0;
    return allowed;
  }

  /** Another instance took this bucket's lease: stop using it (the next report says the rest). */
  revoked(bucket: string): void {
    const lease = this.leases.get(bucket);
    if (lease !== undefined) lease.remaining = 0;
  }

  /** A report's answer: `held` is what Redis counts as leased here after it, -1 if the window ended. */
  settled(bucket: string, window: string, held: number): void {
    const lease = this.leases.get(bucket);
    if (lease === undefined || lease.window !== window) return;
    if (held < 0) this.leases.delete(bucket);
    else lease.remaining = Math.max(0, held - lease.unreported);
  }

  /** Takes back a used slot into the bucket's live lease; false when there is none to hold it. */
  refund(bucket: string, now: number): boolean {
    const lease = this.leases.get(bucket);
    if (lease === undefined || lease.expiresAt <= now) return false;
    lease.remaining++;
    lease.unreported--;
    return true;
  }

  /**
   * Drops leases whose window ended, gives up those idle for `idleMs` (their slots go back), and
   * reports the use of the others in crowded windows, where another instance may soon take
   * leases back: reported, a slot used here is not handed out again. A window less than half
   * used is left to the next ask, which carries the report (no Redis call per lease per tick).
   */
  sweep(now: number): Settlement[] {
    const out: Settlement[] = [];
    for (const [bucket, lease] of this.leases) {
      if (lease.expiresAt <= now) this.leases.delete(bucket);
      else if (now - lease.lastUsed >= this.idleMs) {
        this.leases.delete(bucket);
        if (lease.remaining > 0 || lease.unreported !== 0)
          out.push({ bucket, window: lease.window, used: lease.unreported, release: true });
      } else if (lease.crowded && lease.unreported !== 0) {
        out.push({ bucket, window: lease.window, used: lease.unreported, release: false });
        lease.unreported = 0;
      }
    }
    return out;
  }

  /** Gives up every lease (shutdown): the unused slots of live windows go back. */
  drain(now: number): Settlement[] {
    const out: Settlement[] = [];
    for (const [bucket, lease] of this.leases)
      if (lease.expiresAt > now && (lease.remaining > 0 || lease.unreported !== 0))
        out.push({ bucket, window: lease.window, used: lease.unreported, release: true });
    this.leases.clear();
    return out;
  }
}
