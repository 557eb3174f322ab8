import fc from 'fast-check';
import { MAX_CURSOR, parseCursor } from './cursor';

describe('parseCursor', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    ['9007199254740991', 9007199254740991],
    [undefined, null],
    ['', null],
  ])('%j -> %j', (input, expected) => expect(parseCursor(input)).toBe(expected));

  it.each([
    '-1',
    '1.5',
    'abc',
    ' 1',
    '1e3',
    '0x10',
    '9007199254740992',
    '99999999999999999',
    ['1'],
  ])('%j is invalid', (input) => {
    expect(parseCursor(input)).toBe('invalid');
  });
});

describe('cursor parser, for any input', () => {
  it('accepts exactly the canonical non-negative integers up to MAX_CURSOR', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String)),
        (text) => {
          const result = parseCursor(text);
          if (text === '') return expect(result).toBeNull();
          if (result === 'invalid') return;
          expect(Number.isSafeInteger(result)).toBe(true);
          expect(result).toBeGreaterThanOrEqual(0);
          expect(result).toBeLessThanOrEqual(MAX_CURSOR);
          expect(text).toMatch(/^\d+$/);
        },
      ),
      { numRuns: 1000 },
    );
    fc.assert(fc.property(fc.maxSafeNat(), (n) => expect(parseCursor(String(n))).toBe(n)));
  });
});
