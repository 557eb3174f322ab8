import { SseParser, type SseMessage } from './sse.js';

const parse = (...chunks: string[]): SseMessage[] => {
  const parser = new SseParser();
  return chunks.flatMap((c) => parser.push(c));
};

describe('SseParser', () => {
  it('parses id, event and data, and dispatches at the blank line', () => {
    expect(parse('retry: 2000\n\nid: 7\nevent: notification\ndata: {"seq":7}\n\n')).toEqual([
      { id: '7', event: 'notification', data: '{"seq":7}', lastEventId: '7' },
    ]);
  });

  it('joins data lines with \\n, defaults the event to message and skips comments', () => {
    expect(parse(': heartbeat\n\ndata: a\n: between\ndata:b\ndata\n\n')).toEqual([
      { event: 'message', data: 'a\nb\n', lastEventId: '' },
    ]);
  });

  it('dispatches nothing for blocks without data, nor for an unterminated tail', () => {
    expect(parse('event: resync\n\nid: 3\n\ndata: tail')).toEqual([]);
  });

  it('keeps the last id for later events, and ignores an id holding NUL', () => {
    const events = parse('id: 4\ndata: x\n\nevent: resync\ndata: {}\n\nid: 5\0\ndata: y\n\n');
    expect(events.map((e) => [e.id, e.lastEventId])).toEqual([
      ['4', '4'],
      [undefined, '4'],
      [undefined, '4'],
    ]);
  });

  it('reads the retry field', () => {
    const parser = new SseParser();
    parser.push('retry: 1500\n\nretry: soon\n\n');
    expect(parser.retryMs).toBe(1500);
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])(
    'gives the same events whatever the line ending (%s) and wherever the chunks split',
    (_, eol) => {
      const text = [
        'id: 1',
        'event: notification',
        'data: {"a":1}',
        '',
        ': hb',
        '',
        'data: two',
        'data: lines',
        '',
        '',
      ].join(eol);
      const expected = [
        { id: '1', event: 'notification', data: '{"a":1}', lastEventId: '1' },
        { event: 'message', data: 'two\nlines', lastEventId: '1' },
      ];
      for (let i = 0; i <= text.length; i++)
        for (const j of [i, Math.min(text.length, i + 1), Math.min(text.length, i + 3)])
          expect(parse(text.slice(0, i), text.slice(i, j), text.slice(j))).toEqual(expected);
    },
  );
});
