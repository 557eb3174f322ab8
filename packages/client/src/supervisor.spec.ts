import { Backoff } from './backoff.js';
import { HttpError, NotServedError } from './http.js';
import { judge, supervise } from './supervisor.js';

describe('judge', () => {
  it.each([
    [new HttpError(404, 'Not Found'), 'refused'],
    [new HttpError(501, 'Not Implemented'), 'refused'],
    [new NotServedError('text/html'), 'refused'],
    [new HttpError(401, 'unauthorized'), 'fatal'],
    [new HttpError(400, 'bad cursor'), 'fatal'],
    [new HttpError(503, 'busy'), 'retry'],
    [new TypeError('fetch failed'), 'retry'],
  ])('%s -> %s', (err, kind) => expect(judge(err).kind).toBe(kind));

  it("waits at least the server's Retry-After", () => {
    expect(judge(new HttpError(429, 'too many connections', 3000))).toEqual({
      kind: 'retry',
      afterMs: 3000,
    });
  });
});

describe('supervise', () => {
  it('retries a failing transport in place and moves on only when one is not served', async () => {
    const tried: string[] = [];
    const failures: Record<string, Error[]> = {
      sse: [
        new TypeError('ECONNREFUSED'),
        new HttpError(502, 'Bad Gateway'),
        new HttpError(404, ''),
      ],
      ndjson: [new NotServedError('no')],
      longpoll: [new HttpError(401, 'expired')],
    };
    const err = await supervise({
      order: ['sse', 'ndjson', 'longpoll', 'poll'],
      signal: new AbortController().signal,
      backoff: new Backoff(1, 2),
      attempt: (t) => {
        tried.push(t);
        return Promise.reject(failures[t].shift() ?? new Error('none left'));
      },
      onTransport: () => undefined,
      onError: () => undefined,
    });
    expect(tried).toEqual(['sse', 'sse', 'sse', 'ndjson', 'longpoll']);
    expect(err?.message).toBe('expired');
  });

  it('ends with an error once every transport is refused, and at once when aborted', async () => {
    const refused = await supervise({
      order: ['sse', 'poll'],
      signal: new AbortController().signal,
      backoff: new Backoff(1, 2),
      attempt: () => Promise.reject(new HttpError(404, '')),
      onTransport: () => undefined,
      onError: () => undefined,
    });
    expect(refused?.message).toBe('no transport is served: sse, poll');
    const abort = new AbortController();
    const stopped = supervise({
      order: ['sse'],
      signal: abort.signal,
      backoff: new Backoff(60_000, 60_000),
      attempt: () => Promise.reject(new TypeError('down')),
      onTransport: () => undefined,
      onError: () => abort.abort(),
    });
    await expect(stopped).resolves.toBeUndefined();
  });
});
