import { jitteredRetryMs, sseComment, sseEvent, sseRetry } from './sse';

describe('reconnection delay', () => {
  it('is spread over 1-5 s per stream, so a restart does not bring every client back at once', () => {
    expect(jitteredRetryMs(() => 0)).toBe(1000);
    expect(jitteredRetryMs(() => 0.999999)).toBe(4999);
    const drawn = new Set(Array.from({ length: 200 }, () => jitteredRetryMs()));
    expect(drawn.size).toBeGreaterThan(150);
    for (const ms of drawn) expect(ms >= 1000 && ms < 5000).toBe(true);
  });
});

describe('SSE framing', () => {
  it('frames an event with id, name and data', () => {
    expect(sseEvent({ id: 7, event: 'notification', data: '{"a":1}' })).toBe(
      'id: 7\nevent: notification\ndata: {"a":1}\n\n',
    );
    expect(sseEvent({ event: 'resync', data: '{"lastSeq":3}' })).toBe(
      'event: resync\ndata: {"lastSeq":3}\n\n',
    );
  });

  it('splits data on every kind of line break so nothing starts a new field', () => {
    expect(sseEvent({ data: 'a\nb\r\nc\rd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(sseEvent({ data: 'x\n\nid: 99\nevent: evil' })).toBe(
      'data: x\ndata: \ndata: id: 99\ndata: event: evil\n\n',
    );
  });

  it('refuses ids and event names that span lines', () => {
    expect(() => sseEvent({ id: '1\n2', data: '' })).toThrow();
    expect(() => sseEvent({ event: 'a\rb', data: '' })).toThrow();
    expect(() => sseEvent({ id: 'a\u0000', data: '' })).toThrow();
  });

  it('writes comments and retry on their own', () => {
    expect(sseComment('hb')).toBe(': hb\n\n');
    expect(sseComment('a\nb')).toBe(': a b\n\n');
    expect(sseRetry(3000)).toBe('retry: 3000\n\n');
  });
});
