import { Backoff } from './backoff.js';
import { HttpError, NotServedError } from './http.js';

/** What a failed attempt means for the next one. */
export type Verdict =
  /** Not served here (404, 405, 501, not a stream, no EventSource): move to the next transport. */
  | { kind: 'refused' }
  /** Credentials refused (401, 403) or a bad request: stop, retrying cannot help. */
  | { kind: 'fatal' }
  /** Anything else (network, 5xx, 429, a cut stream): wait, then try the same again. */
  | { kind: 'retry'; afterMs: number };

export function judge(err: unknown): Verdict {
  if (err instanceof NotServedError) return { kind: 'refused' };
  if (err instanceof HttpError) {
    if ([404, 405, 406, 501].includes(err.status)) return { kind: 'refused' };
    if ([400, 401, 403].includes(err.status)) return { kind: 'fatal' };
    return { kind: 'retry', afterMs: err.retryAfterMs ?? 0 };
  }
  return { kind: 'retry', afterMs: 0 };
}

export interface SuperviseOptions<T extends string> {
  /** Tried in this order; a refused one is not tried again. */
  order: readonly T[];
  signal: AbortSignal;
  backoff: Backoff;
  /** Runs one attempt over `transport`: resolves or rejects when it ends. */
  attempt(transport: T): Promise<void>;
  onTransport(transport: T): void;
  onError(err: Error): void;
}

export const asError = (err: unknown): Error =>
  err instanceof Error ? err : new Error(String(err));

/**
 * Keeps one transport of `order` running until the signal aborts: an attempt that ends is
 * followed by another after a jittered backoff (at least the server's Retry-After); a refused
 * transport gives way to the next. Resolves with the error that stopped it (fatal, or every
 * transport refused), or undefined once aborted.
 */
export async function supervise<T extends string>(
  options: SuperviseOptions<T>,
): Promise<Error | undefined> {
  const { order, signal, backoff } = options;
  for (let i = 0; i < order.length && !signal.aborted;) {
    const transport = order[i];
    options.onTransport(transport);
    let error: Error;
    try {
      await options.attempt(transport);
      error = new Error(`${transport} ended`);
    } catch (err) {
      error = asError(err);
    }
    if (signal.aborted) return undefined;
    const verdict = judge(error);
    if (verdict.kind === 'fatal') return error;
    options.onError(error);
    if (verdict.kind === 'refused') {
      i++;
      backoff.reset();
      continue;
    }
    await sleep(Math.max(verdict.afterMs, backoff.next()), signal);
  }
  return signal.aborted ? undefined : new Error(`no transport is served: ${order.join(', ')}`);
}

/** Resolves when the signal aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
