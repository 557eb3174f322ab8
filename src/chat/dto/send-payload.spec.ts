import fc from 'fast-check';
import { parsePayload } from '../../realtime/ack';
import { SocketSendDto } from './chat.dto';
import { quickSendPayload } from './send-payload';

const ROOM = '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

/** Values a client could send for one field: right ones, wrong types, tricky strings. */
const fieldValue = fc.oneof(
  fc.uuid(),
  fc.constant(ROOM),
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    'x'.repeat(64),
    'x'.repeat(65),
    '\ufe0f',
    'A'.repeat(65_537),
  ),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 2 }),
);

const payload = fc.oneof(
  fc.record(
    { roomId: fieldValue, body: fieldValue, clientMsgId: fieldValue },
    { requiredKeys: [] },
  ),
  fc.record({
    roomId: fc.uuid(),
    body: fc.string(),
    clientMsgId: fc.string({ minLength: 1, maxLength: 64 }),
  }),
  fc.dictionary(fc.constantFrom('roomId', 'body', 'clientMsgId', 'extra', '__proto__'), fieldValue),
  fieldValue,
);

async function fullPath(value: unknown): Promise<SocketSendDto | 'refused'> {
  try {
    return await parsePayload(SocketSendDto, value);
  } catch {
    return 'refused';
  }
}

describe('quickSendPayload', () => {
  it('accepts only what the DTO accepts, with the same fields', async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (value) => {
        const quick = quickSendPayload(value);
        if (quick === null) return;
        const full = await fullPath(value);
        expect(full).not.toBe('refused');
        expect({ ...quick }).toEqual({ ...(full as SocketSendDto) });
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the usual shapes itself', () => {
    expect(quickSendPayload({ roomId: ROOM, body: 'hello' })).toEqual(
      Object.assign(new SocketSendDto(), { roomId: ROOM, body: 'hello' }),
    );
    expect(quickSendPayload({ roomId: ROOM, body: 'hi', clientMsgId: 'c-1' })).toMatchObject({
      clientMsgId: 'c-1',
    });
  });

  it('leaves everything unusual to the full path', () => {
    for (const value of [
      null,
      'text',
      [ROOM],
      { roomId: ROOM },
      { roomId: ROOM, body: 'x', extra: 1 },
      { roomId: 'not-a-uuid', body: 'x' },
      { roomId: ROOM, body: 'nul\u0000' },
      { roomId: ROOM, body: 'x', clientMsgId: '' },
      { roomId: ROOM, body: 'x', clientMsgId: 'x'.repeat(65) },
      Object.assign(Object.create({ inherited: true }) as object, { roomId: ROOM, body: 'x' }),
    ])
      expect(quickSendPayload(value)).toBeNull();
  });
});
