import { BadRequestException } from '@nestjs/common';
import { findUnsafeText, SafeTextPipe } from './safe-text.pipe';

describe('findUnsafeText', () => {
  it('accepts ordinary text, emoji (paired surrogates) and non-strings', () => {
    expect(findUnsafeText({ a: 'héllo 👋', b: [1, true, null, { c: 'ok' }] })).toBeNull();
  });

  it.each([
    [{ a: 'x\u0000y' }, 'a'],
    [{ a: { b: ['ok', '\ud800'] } }, 'a.b[1]'],
    [{ a: 'lone low \udc00 here' }, 'a'],
    [{ a: 'reversed \udc00\ud800' }, 'a'],
    ['\u0000', 'value'],
  ])('finds the unsafe string in %j at %s', (value, where) => {
    expect(findUnsafeText(value)).toBe(where);
  });

  it('the pipe turns it into a 400', () => {
    expect(() => new SafeTextPipe().transform({ body: 'a\u0000' })).toThrow(BadRequestException);
    expect(new SafeTextPipe().transform({ body: 'fine' })).toEqual({ body: 'fine' });
  });
});
