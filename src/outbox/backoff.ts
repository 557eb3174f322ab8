import type { DeliveryPolicy } from './outbox.sink';

/**
 * The delay before the retry that follows failed attempt number `attempt` (from 1): exponential
 * with full jitter, uniformly in [0, min(cap, base * 2^(attempt-1))). Full jitter spreads the
 * retries of many rows that failed together (a receiver's outage) instead of sending them back
 * in waves.
 */
export function retryDelayMs(
  attempt: number,
  policy: Pick<DeliveryPolicy, 'retryBaseMs' | 'retryCapMs'>,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * retryCeilingMs(attempt, policy));
}

/** The upper bound of `retryDelayMs` for an attempt. */
export function retryCeilingMs(
  attempt: number,
  policy: Pick<DeliveryPolicy, 'retryBaseMs' | 'retryCapMs'>,
): number {
  // 2^30 is far past any cap; bounding the exponent keeps the number finite.
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  return Math.min(policy.retryCapMs, policy.retryBaseMs * 2 ** exponent);
}
