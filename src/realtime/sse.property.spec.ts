import fc from 'fast-check';
import { SseParser } from '@realtime-service/client';
import { sseComment, sseEvent } from './sse';

/** What a client makes of the bytes: the SDK's parser, as browsers' EventSource would. */
const parseSse = (raw: string) => new SseParser().push(raw);

/** Any string at all, including CR, LF, NUL, lone surrogates and field-looking text. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc
    .array(
      fc.constantFrom(
        '\r',
        '\n',
        '\r\n',
        'id: 9',
        'event: x',
        'data: y',
        'retry: 1',
        ':',
        ' ',
        'a',
        '\u0000',
      ),
      { maxLength: 30 },
    )
    .map((a) => a.join('')),
);

describe('SSE encoder, for any input', () => {
  it('a JSON payload is exactly one event whose data parses back to the same value', () => {
    fc.assert(
      fc.property(fc.nat(), hostile, hostile, fc.jsonValue(), (seq, title, body, data) => {
        const payload = { seq, title, body, data };
        const frame = sseEvent({ id: seq, event: 'notification', data: JSON.stringify(payload) });
        const events = parseSse(frame);
        expect(events).toHaveLength(1);
        expect(events[0].id).toBe(String(seq));
        expect(events[0].event).toBe('notification');
        expect(JSON.parse(events[0].data)).toEqual(JSON.parse(JSON.stringify(payload)));
        // No line of the frame starts a field other than id, event and data.
        for (const line of frame.split('\n').filter((l) => l !== ''))
          expect(line).toMatch(/^(id|event|data): /);
      }),
      { numRuns: 500 },
    );
  });

  it('raw multi-line data is one event that joins back to the input (line endings normalised)', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const events = parseSse(sseEvent({ data: text }));
        expect(events).toHaveLength(1);
        expect(events[0].data).toBe(text.replace(/\r\n|\r/g, '\n'));
        expect(events[0].id).toBeUndefined();
        expect(events[0].event).toBe('message');
      }),
      { numRuns: 500 },
    );
  });

  it('an id or event name that could break out of its line is refused', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const breaks = /[\r\n\0]/.test(text);
        if (breaks) {
          expect(() => sseEvent({ id: text, data: '' })).toThrow();
          expect(() => sseEvent({ event: text, data: '' })).toThrow();
        }
      }),
    );
  });

  it('a comment never becomes an event or another field', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const frame = sseComment(text);
        expect(parseSse(frame)).toEqual([]);
        expect(
          frame
            .split(/\r\n|\r|\n/)
            .filter((l) => l !== '')
            .every((l) => l.startsWith(':')),
        ).toBe(true);
      }),
    );
  });
});
