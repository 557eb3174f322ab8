import { asNotificationLine, NdjsonParser } from './ndjson.js';

describe('NdjsonParser', () => {
  it('parses one object per line across chunk splits, CRLF and blank lines', () => {
    const text =
      '{"type":"open","lastSeq":2}\r\n\n{"type":"heartbeat"}\n{"type":"notification","notification":{"seq":3}}\n';
    for (let i = 0; i <= text.length; i++) {
      const parser = new NdjsonParser();
      expect([...parser.push(text.slice(0, i)), ...parser.push(text.slice(i))]).toEqual([
        { type: 'open', lastSeq: 2 },
        { type: 'heartbeat' },
        { type: 'notification', notification: { seq: 3 } },
      ]);
    }
  });

  it('waits for the newline before parsing a line', () => {
    const parser = new NdjsonParser();
    expect(parser.push('{"type":"heart')).toEqual([]);
    expect(parser.push('beat"}')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ type: 'heartbeat' }]);
  });

  it('throws on a line that is not JSON', () => {
    expect(() => new NdjsonParser().push('not json\n')).toThrow(SyntaxError);
  });
});

describe('asNotificationLine', () => {
  it('takes the line types of the contract and skips others', () => {
    expect(asNotificationLine({ type: 'resync', lastSeq: 1 })).toEqual({
      type: 'resync',
      lastSeq: 1,
    });
    expect(asNotificationLine({ type: 'quote' })).toBeNull();
    expect(asNotificationLine([1])).toBeNull();
    expect(asNotificationLine(null)).toBeNull();
    expect(asNotificationLine('open')).toBeNull();
  });
});
