import type { NotificationNdjsonLine, StockNdjsonLine } from '../../src/contracts';

export type NdjsonLine = NotificationNdjsonLine | StockNdjsonLine;

export interface NdjsonClient<T = NdjsonLine> {
  status: number;
  headers: Headers;
  /** Everything received so far, as text. */
  raw(): string;
  /** The complete lines so far, parsed (a line that is not JSON fails the test). */
  lines(): T[];
  /** Resolves once a line matching `predicate` arrived; with it. */
  waitFor(predicate: (line: T) => boolean, timeoutMs?: number, what?: string): Promise<T>;
  /** Resolves once at least `n` lines arrived. */
  waitForCount(n: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens an NDJSON stream with fetch, as a browser client would, and reads it line by line. */
export async function openNdjson<T = NdjsonLine>(
  url: string,
  headers: Record<string, string> = {},
): Promise<NdjsonClient<T>> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  let raw = '';
  const parsed: T[] = [];
  const waiters = new Set<() => void>();
  const decoder = new TextDecoder();
  let finished = false;
  const ended = (async () => {
    if (res.body === null) return;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        raw += decoder.decode(value, { stream: true });
        const complete = raw.split('\n').slice(0, -1);
        for (const text of complete.slice(parsed.length)) parsed.push(JSON.parse(text) as T);
        for (const w of waiters) w();
      }
    } catch {
      // Aborted by close(), or the connection was cut: the stream has ended either way.
    } finally {
      finished = true;
      for (const w of waiters) w();
    }
  })();

  const waitFor = (done: () => boolean, what: string, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (done()) {
          cleanup();
          resolve();
        } else if (finished) {
          cleanup();
          reject(new Error(`stream ended before ${what}; got: ${raw.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; got: ${raw.slice(-2000)}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    status: res.status,
    headers: res.headers,
    raw: () => raw,
    lines: () => [...parsed],
    waitFor: async (predicate, timeoutMs = 10_000, what = 'a matching line') => {
      await waitFor(() => parsed.some(predicate), what, timeoutMs);
      return parsed.find(predicate) as T;
    },
    waitForCount: async (n, timeoutMs = 10_000) => {
      await waitFor(() => parsed.length >= n, `${n} lines`, timeoutMs);
      return [...parsed];
    },
    ended,
    close: () => abort.abort(),
  };
}
