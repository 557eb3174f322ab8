/** One claimed row, as a sink sends it. */
export interface OutboxDelivery {
  /** The event's id: the same on every attempt. */
  id: string;
  type: string;
  data: unknown;
  /** ISO time the event was recorded (its transaction's time). */
  createdAt: string;
  /** This attempt's number, from 1. */
  attempt: number;
}

/** How a sink's rows are worked: how many at once, how long one may take, how retries space. */
export interface DeliveryPolicy {
  /** Attempts in flight on one instance. */
  concurrency: number;
  /** An attempt is abandoned (and counts as failed) after this long. */
  timeoutMs: number;
  /** The ceiling of the first retry's delay; it doubles per attempt up to `retryCapMs`. */
  retryBaseMs: number;
  retryCapMs: number;
  /** No attempt is made later than this after the event's creation; then the row is `failed`. */
  retryWindowMs: number;
}

/**
 * Thrown by `deliver` when trying again cannot help (the receiver refused the request itself, or
 * the destination is not allowed): the row is settled `failed` at once instead of retried.
 */
export class UndeliverableError extends Error {}

/**
 * Where an outbox row goes. `deliver` resolves when the receiver took it and throws (with a
 * short reason, stored as `lastError`) when it did not (UndeliverableError: never retried); it must give up when `signal` aborts.
 */
export interface OutboxSink {
  /** The rows' `sink` column. */
  readonly name: string;
  readonly policy: DeliveryPolicy;
  deliver(delivery: OutboxDelivery, signal: AbortSignal): Promise<void>;
}
