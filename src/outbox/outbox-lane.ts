import type { Logger } from '@nestjs/common';
import { errorText, inBackground } from '../common/background';
import { retryDelayMs } from './backoff';
import type { OutboxRepository } from './outbox.repository';
import { UndeliverableError, type OutboxDelivery, type OutboxSink } from './outbox.sink';

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

interface Attempt {
  delivery: OutboxDelivery;
  /** Aborted by `stop` only; the attempt's own timeout is a separate signal. */
  stop: AbortController;
  done: Promise<void>;
}

export interface LaneHooks {
  logger: Logger;
  outcome(sink: string, outcome: DeliveryOutcome): void;
  random?: () => number;
}

/**
 * One sink's worker on this instance: claims due rows while it has free slots (at most
 * `policy.concurrency` attempts in flight), sends each through the sink with its timeout and
 * settles it. Claims come from the poll, from local writes (`pump`), when a slot frees while
 * rows were left behind, and when a retry scheduled here falls due; a claim already running
 * absorbs the calls that arrive meanwhile (one more round runs after it).
 */
export class OutboxLane {
  private readonly attempts = new Map<string, Attempt>();
  private claiming = false;
  private again = false;
  /** The last claim filled every free slot: more may be due, claim again as slots free. */
  private backlog = false;
  private stopped = false;
  private wake: { at: number; timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly sink: OutboxSink,
    private readonly repo: OutboxRepository,
    private readonly hooks: LaneHooks,
  ) {}

  /**
   * How long a claim keeps a row from others: twice the attempt's timeout, so an attempt ends
   * (and settles its row) well before anyone else may take the row, while a row whose claimer
   * died waits no longer than that.
   */
  get leaseMs(): number {
    return this.sink.policy.timeoutMs * 2;
  }

  /** Attempts in flight now. */
  get inFlight(): number {
    return this.attempts.size;
  }

  pump(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = true;
    inBackground(this.hooks.logger, `${this.sink.name} outbox claim`, () => this.claimRounds());
  }

  /**
   * Stops claiming, gives attempts in flight up to `graceMs` to finish, then aborts the rest and
   * hands their rows back (due at once, for another instance).
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.wake !== null) clearTimeout(this.wake.timer);
    const running = [...this.attempts.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(running.map((a) => a.done)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    const left = [...this.attempts.values()];
    for (const a of left) a.stop.abort();
    try {
      await this.repo.release(left.map((a) => a.delivery));
    } catch (err) {
      // Not released: those rows are due again when their lease ends.
      this.hooks.logger.warn(`could not release ${left.length} outbox rows: ${errorText(err)}`);
    }
  }

  private async claimRounds(): Promise<void> {
    try {
      do {
        this.again = false;
        const free = this.sink.policy.concurrency - this.attempts.size;
        if (free <= 0) {
          this.backlog = true;
          break;
        }
        const claimed = await this.repo.claim(this.sink.name, free, this.leaseMs);
        this.backlog = claimed.length === free;
        // stop() may have begun during the claim: the rows still go out (they are leased to us).
        for (const delivery of claimed) this.start(delivery);
      } while (this.again && !this.stopped);
    } catch (err) {
      // The database is away: the poll tries again.
      this.hooks.logger.warn(`${this.sink.name} outbox claim failed: ${errorText(err)}`);
    } finally {
      this.claiming = false;
    }
  }

  private start(delivery: OutboxDelivery): void {
    const stop = new AbortController();
    const attempt: Attempt = { delivery, stop, done: Promise.resolve() };
    this.attempts.set(delivery.id, attempt);
    attempt.done = this.run(delivery, stop.signal).finally(() => {
      this.attempts.delete(delivery.id);
      if (this.backlog) this.pump();
    });
  }

  private async run(delivery: OutboxDelivery, stopSignal: AbortSignal): Promise<void> {
    const { policy } = this.sink;
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    let error: string | null = null;
    let retryable = true;
    try {
      await this.sink.deliver(delivery, AbortSignal.any([stopSignal, timeout]));
    } catch (err) {
      error = timeout.aborted ? `no answer within ${policy.timeoutMs} ms` : errorText(err);
      retryable = !(err instanceof UndeliverableError);
    }
    // Aborted by stop(): the row is handed back there, not counted as failed.
    if (error !== null && stopSignal.aborted) return;
    try {
      if (error === null) {
        await this.repo.delivered(delivery.id);
        this.hooks.outcome(this.sink.name, 'delivered');
        return;
      }
      const delayMs = retryDelayMs(delivery.attempt, policy, this.hooks.random);
      // No retry window left for what cannot succeed: the row is `failed` now.
      const windowMs = retryable ? policy.retryWindowMs : 0;
      const status = await this.repo.failed(delivery, error, delayMs, windowMs);
      if (status === null) return;
      this.hooks.outcome(this.sink.name, status === 'failed' ? 'failed' : 'retried');
      if (status === 'pending') this.wakeIn(delayMs);
    } catch (err) {
      // Unsettled: the row is due again when its lease ends, and is sent again then.
      this.hooks.logger.warn(
        `${this.sink.name} outbox row ${delivery.id} not settled: ${errorText(err)}`,
      );
    }
  }

  /** Claims again when a retry this lane scheduled falls due (sooner than the poll would). */
  private wakeIn(delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + delayMs;
    if (this.wake !== null && this.wake.at <= at) return;
    if (this.wake !== null) clearTimeout(this.wake.timer);
    const timer = setTimeout(() => {
      this.wake = null;
      this.pump();
    }, delayMs);
    timer.unref();
    this.wake = { at, timer };
  }
}
