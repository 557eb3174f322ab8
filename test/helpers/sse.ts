import { request, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { SseParser } from '@realtime-service/client';

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseClient {
  status: number;
  headers: IncomingHttpHeaders;
  /** Everything received, byte for byte (as UTF-8 text). */
  raw(): string;
  events(): SseEvent[];
  /** Resolves when at least n events (comments excluded) arrived. */
  waitForEvents(n: number, timeoutMs?: number): Promise<SseEvent[]>;
  waitForRaw(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves once more than `n` characters arrived in all. */
  waitForLength(n: number, timeoutMs?: number): Promise<void>;
  /** Calls `listener` with each batch of newly complete events as they arrive. */
  onEvents(listener: (events: SseEvent[]) => void): void;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Parses an event stream as EventSource does, with the SDK's parser (an unterminated tail is not an event yet). */
export function parseSse(raw: string): SseEvent[] {
  return new SseParser().push(raw).map(({ id, event, data }) => ({
    ...(id !== undefined ? { id } : {}),
    ...(event !== 'message' ? { event } : {}),
    data,
  }));
}

/** Opens an SSE stream with a raw HTTP request (no EventSource library in between). */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    let raw = '';
    let delivered = 0;
    const waiters = new Set<() => void>();
    const eventListeners: Array<(events: SseEvent[]) => void> = [];
    let req: ClientRequest | null = null;
    let endedResolve!: () => void;
    const ended = new Promise<void>((r) => (endedResolve = r));
    req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        if (eventListeners.length > 0) {
          const all = parseSse(raw);
          const fresh = all.slice(delivered);
          delivered = all.length;
          if (fresh.length > 0) for (const l of eventListeners) l(fresh);
        }
        for (const w of waiters) w();
      });
      res.on('end', () => endedResolve());
      res.on('close', () => endedResolve());
      const waitFor = (done: () => boolean, what: string, timeoutMs: number): Promise<void> =>
        new Promise((ok, fail) => {
          if (done()) return ok();
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`timed out waiting for ${what}; received:\n${raw.slice(-2000)}`));
          }, timeoutMs);
          const check = (): void => {
            if (!done()) return;
            clearTimeout(timer);
            waiters.delete(check);
            ok();
          };
          waiters.add(check);
        });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        raw: () => raw,
        events: () => parseSse(raw),
        waitForEvents: (n, timeoutMs = 10000) =>
          waitFor(() => parseSse(raw).length >= n, `${n} events`, timeoutMs).then(() =>
            parseSse(raw),
          ),
        waitForRaw: (pattern, timeoutMs = 10000) =>
          waitFor(() => pattern.test(raw), String(pattern), timeoutMs),
        waitForLength: (n, timeoutMs = 10000) =>
          waitFor(() => raw.length > n, `${n} characters`, timeoutMs),
        onEvents: (listener) => {
          eventListeners.push(listener);
          const all = parseSse(raw);
          delivered = all.length;
          if (all.length > 0) listener(all);
        },
        ended,
        close: () => req?.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export interface ResumableSse {
  /** Every event received, across reconnects. */
  events: SseEvent[];
  /** HTTP statuses of every (re)connection. */
  statuses: number[];
  reconnects: number;
  waitFor(predicate: (events: SseEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Behaves like EventSource: reconnects when the stream ends, sending Last-Event-ID. */
export function openResumableSse(url: string, headers: Record<string, string>): ResumableSse {
  const changed = new Set<() => void>();
  const state: ResumableSse & { closed: boolean; current: SseClient | null } = {
    events: [],
    statuses: [],
    reconnects: 0,
    closed: false,
    current: null,
    waitFor: (predicate, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        if (predicate(state.events)) return resolve();
        const timer = setTimeout(() => {
          changed.delete(check);
          reject(new Error(`resumable SSE: condition not met; ${state.events.length} events`));
        }, timeoutMs);
        const check = (): void => {
          if (!predicate(state.events)) return;
          clearTimeout(timer);
          changed.delete(check);
          resolve();
        };
        changed.add(check);
      }),
    close: () => {
      state.closed = true;
      state.current?.close();
    },
  };
  const connect = async (): Promise<void> => {
    while (!state.closed) {
      const lastId = [...state.events].reverse().find((e) => e.id !== undefined)?.id;
      try {
        const client = await openSse(
          url,
          lastId === undefined ? headers : { ...headers, 'last-event-id': lastId },
        );
        state.current = client;
        state.statuses.push(client.status);
        client.onEvents((fresh) => {
          state.events.push(...fresh);
          for (const check of [...changed]) check();
        });
        await client.ended;
      } catch {
        state.statuses.push(0);
      }
      if (state.closed) return;
      state.reconnects++;
      await new Promise((r) => setTimeout(r, 100)); // EventSource's `retry` wait, shortened
    }
  };
  // connect() records its own failures in state; nothing else can reject.
  connect().catch(() => undefined);
  return state;
}
