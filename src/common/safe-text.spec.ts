import { findUnsafeText } from './safe-text';

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

  it('does not walk class instances (sockets, requests) or cycles', () => {
    class Thing {
      self = this;
      text = 'x\u0000';
    }
    const cyclic: Record<string, unknown> = { ok: 'fine' };
    cyclic.me = { back: cyclic };
    expect(findUnsafeText(cyclic)).toBeNull();
    expect(findUnsafeText(new Thing())).toBeNull();
    expect(findUnsafeText({ nested: new Thing() })).toBeNull();
  });
});
