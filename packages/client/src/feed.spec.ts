import type { NotificationView } from './contracts.js';
import { NotificationFeed, type FeedEvents, type FeedOptions } from './feed.js';
import { json, note, streamResponse } from './fixtures.js';
import type { EventSourceLike } from './streaming.js';

interface Call {
  url: URL;
  headers: Record<string, string>;
  method: string;
}
type Handler = (call: Call, signal: AbortSignal) => Response | Promise<Response>;

/** A fetch that answers from `handler` and records every call. */
function fakeFetch(handler: Handler): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetchFn = (input: string, init?: RequestInit): Promise<Response> => {
    const call: Call = {
      url: new URL(input),
      headers: (init?.headers ?? {}) as Record<string, string>,
      method: init?.method ?? 'GET',
    };
    calls.push(call);
    const signal: AbortSignal = init?.signal ?? new AbortController().signal;
    return Promise.resolve(handler(call, signal));
  };
  // The SDK always passes the URL as a string.
  return { fetch: fetchFn as unknown as typeof fetch, calls };
}

/** Never answers; rejects when the request is aborted (an idle stream or a waiting long-poll). */
const hang = (signal: AbortSignal): Promise<Response> =>
  new Promise((_, reject) =>
    signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
  );

const sse = (...events: string[]): Response => streamResponse('text/event-stream', events);
const event = (n: NotificationView): string =>
  `id: ${n.seq}\nevent: notification\ndata: ${JSON.stringify(n)}\n\n`;
const page = (items: NotificationView[], after: number): Response =>
  json(200, { items, lastSeq: items.length > 0 ? items[items.length - 1].seq : after });

async function until(done: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!done()) throw new Error(`timed out waiting for ${what}`);
}

const BASE = 'http://svc.test';
const fast: FeedOptions = { backoff: { baseMs: 1, capMs: 4 }, pollIntervalMs: 5, sse: 'fetch' };

function open(options: FeedOptions): {
  feed: NotificationFeed;
  seqs: number[];
  log: Array<[keyof FeedEvents, unknown]>;
} {
  const feed = new NotificationFeed(BASE, { ...fast, ...options });
  const seqs: number[] = [];
  const log: Array<[keyof FeedEvents, unknown]> = [];
  feed.on('notification', (n) => seqs.push(n.seq));
  for (const e of ['transport', 'resync', 'close'] as const)
    feed.on(e, (value) => log.push([e, value]));
  return { feed, seqs, log };
}

describe('NotificationFeed', () => {
  let feed: NotificationFeed | undefined;
  afterEach(() => feed?.close());

  it('falls back SSE -> NDJSON -> long-poll when each is not served, with the token in a header only', async () => {
    const { fetch, calls } = fakeFetch(({ url }, signal) => {
      if (url.pathname.endsWith('/stream')) return json(404, { message: 'Not Found' });
      if (url.pathname.endsWith('/ndjson')) return json(404, { message: 'Not Found' });
      if (url.searchParams.get('after') === '0') return page([note(1), note(2)], 0);
      return hang(signal);
    });
    const t = open({ fetch, token: 'jwt' });
    feed = t.feed.start();
    await until(() => t.seqs.length === 2);
    expect(t.log).toEqual([
      ['transport', 'sse'],
      ['transport', 'ndjson'],
      ['transport', 'longpoll'],
    ]);
    expect(calls.map((c) => c.url.pathname + c.url.search)).toEqual([
      '/api/notifications/stream',
      '/api/notifications/ndjson?after=0',
      '/api/notifications/wait?after=0&timeout=25',
      '/api/notifications/wait?after=2&timeout=25',
    ]);
    for (const c of calls) {
      expect(c.headers.authorization).toBe('Bearer jwt');
      expect(c.url.search).not.toContain('jwt');
    }
  });

  it('resumes an SSE stream from its cursor after a cut, delivering each seq once', async () => {
    let opens = 0;
    const { fetch, calls } = fakeFetch((_, signal) => {
      opens++;
      if (opens === 1) return sse('retry: 1000\n\n', event(note(1)), event(note(2)));
      if (opens === 2) return sse(event(note(2)), ': hb\n\n', event(note(3)));
      return hang(signal);
    });
    const t = open({ fetch, transports: ['sse'] });
    feed = t.feed.start();
    await until(() => opens === 3);
    expect(t.seqs).toEqual([1, 2, 3]);
    expect(calls.map((c) => c.headers['last-event-id'])).toEqual(['0', '2', '3']);
    expect(t.feed.cursor).toBe(3);
  });

  it('fills a gap in a stream by reading from the cursor through the poll endpoint', async () => {
    let streams = 0;
    const { fetch, calls } = fakeFetch(({ url }, signal) => {
      if (!url.pathname.endsWith('/stream')) return page([note(2), note(3)], 1);
      return ++streams === 1 ? sse(event(note(1)), event(note(3))) : hang(signal);
    });
    const t = open({ fetch, transports: ['sse'] });
    feed = t.feed.start();
    await until(() => t.seqs.length === 3);
    expect(t.seqs).toEqual([1, 2, 3]);
    const polls = calls.filter((c) => c.url.pathname === '/api/notifications');
    expect(polls[0].url.search).toBe('?after=1&limit=200');
  });

  it('on resync moves the cursor back to the server end, re-reads from it, and goes on live', async () => {
    const { fetch, calls } = fakeFetch(({ url }, signal) => {
      if (url.pathname.endsWith('/ndjson'))
        return calls.filter((c) => c.url.pathname.endsWith('/ndjson')).length === 1
          ? streamResponse('application/x-ndjson', [
              '{"type":"open","lastSeq":1}\n{"type":"resync","lastSeq":1}\n',
              `{"type":"heartbeat"}\n{"type":"notification","notification":${JSON.stringify(note(2))}}\n`,
            ])
          : hang(signal);
      return page([], 1);
    });
    const t = open({ fetch, transports: ['ndjson'], after: 5 });
    feed = t.feed.start();
    await until(() => t.seqs.length === 1);
    expect(t.log).toContainEqual(['resync', { from: 5, to: 1 }]);
    expect(t.seqs).toEqual([2]);
    expect(calls[0].url.search).toBe('?after=5');
    expect(calls.some((c) => c.url.search === '?after=1&limit=200')).toBe(true);
  });

  it('gives an EventSource a fresh single-use ticket per connect, never the token', async () => {
    const sources: FakeEventSource[] = [];
    class FakeEventSource implements EventSourceLike {
      readonly listeners = new Map<string, Array<(e: MessageEvent<string>) => void>>();
      closed = false;
      constructor(readonly url: string) {
        sources.push(this);
      }
      addEventListener(type: string, listener: (e: MessageEvent<string>) => void): void {
        this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
      }
      close(): void {
        this.closed = true;
      }
      fire(type: string, data = ''): void {
        for (const l of this.listeners.get(type) ?? [])
          l({ data, lastEventId: '' } as MessageEvent<string>);
      }
    }
    let tickets = 0;
    const { fetch, calls } = fakeFetch(({ url }) =>
      url.pathname === '/api/auth/stream-ticket'
        ? json(201, { ticket: `t${++tickets}`, expiresAt: new Date().toISOString() })
        : json(500, {}),
    );
    const t = open({ fetch, token: 'jwt', sse: 'eventsource', EventSource: FakeEventSource });
    feed = t.feed.start();
    await until(() => sources.length === 1, 'first EventSource');
    sources[0].fire('open');
    sources[0].fire('notification', JSON.stringify(note(1)));
    sources[0].fire('error');
    await until(() => sources.length === 2, 'second EventSource');
    expect(sources[0].closed).toBe(true);
    expect(sources.map((s) => new URL(s.url).search)).toEqual([
      '?after=0&ticket=t1',
      '?after=1&ticket=t2',
    ]);
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(2);
    expect(calls[0].headers.authorization).toBe('Bearer jwt');
    expect(t.seqs).toEqual([1]);
  });

  it('asks fetch why an EventSource did not open, and falls back when the stream is not served', async () => {
    const { fetch, calls } = fakeFetch(({ url }, signal) => {
      if (url.pathname.endsWith('/stream')) return json(404, { message: 'Not Found' });
      return url.searchParams.get('after') === '0' ? page([note(1)], 0) : hang(signal);
    });
    class RefusedEventSource implements EventSourceLike {
      constructor(readonly url: string) {}
      addEventListener(type: string, listener: (e: MessageEvent<string>) => void): void {
        if (type === 'error') setTimeout(() => listener({} as MessageEvent<string>), 1);
      }
      close(): void {}
    }
    const t = open({
      fetch,
      sse: 'auto',
      EventSource: RefusedEventSource,
      transports: ['sse', 'longpoll'],
    });
    feed = t.feed.start();
    await until(() => t.seqs.length === 1);
    expect(calls[0].url.pathname + calls[0].url.search).toBe('/api/notifications/stream?after=0');
    expect(t.log.slice(0, 2)).toEqual([
      ['transport', 'sse'],
      ['transport', 'longpoll'],
    ]);
  });

  it('stops for good when the credentials are refused, without falling back', async () => {
    const { fetch, calls } = fakeFetch(() =>
      json(401, { message: 'a valid access token is required' }),
    );
    const t = open({ fetch, token: 'expired' });
    feed = t.feed.start();
    await until(() => t.feed.closed);
    expect(calls).toHaveLength(1);
    const [, err] = t.log[t.log.length - 1];
    expect(t.log[t.log.length - 1][0]).toBe('close');
    expect((err as Error).message).toBe('a valid access token is required');
  });

  it('polls from the cursor, and close() stops every request and timer', async () => {
    let n = 0;
    const { fetch, calls } = fakeFetch(({ url }) => {
      const after = Number(url.searchParams.get('after'));
      return page(n++ % 2 === 0 ? [note(after + 1)] : [], after);
    });
    const t = open({ fetch, transports: ['poll'] });
    feed = t.feed.start();
    await until(() => t.seqs.length === 3);
    t.feed.close();
    const made = calls.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(calls.length).toBe(made);
    expect(t.seqs).toEqual([1, 2, 3]);
    expect(t.log[t.log.length - 1]).toEqual(['close', undefined]);
  });
});
