/** A rate-limit check's answer. */
export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until the window frees a slot. */
  retryAfterMs: number;
  /** When allowed by Redis: the window the slot came from (what `refund` gives it back to). */
  window?: string;
}
