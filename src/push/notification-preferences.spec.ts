import {
  InvalidPreferences,
  MAX_PREFERENCE_KINDS,
  parsePushPreferences,
} from './notification-preferences';

describe('push preferences', () => {
  it('keeps each kind as given, true or false', () => {
    expect(parsePushPreferences({ system: false, price_alert: true })).toEqual({
      system: false,
      price_alert: true,
    });
    expect(parsePushPreferences({})).toEqual({});
  });

  it('keeps kinds that are Object.prototype names as plain keys', () => {
    const proto = parsePushPreferences(JSON.parse('{"__proto__": false, "constructor": true}'));
    expect(Object.keys(proto)).toEqual(['__proto__', 'constructor']);
    expect(proto['__proto__']).toBe(false);
  });

  it('takes kinds as publishers name them, and booleans only', () => {
    expect(parsePushPreferences({ 'a.b-c_1': true })).toEqual({ 'a.b-c_1': true });
    expect(() => parsePushPreferences({ System: false })).toThrow(InvalidPreferences);
    expect(() => parsePushPreferences({ ['x'.repeat(65)]: false })).toThrow(/1-64 characters/);
    expect(() => parsePushPreferences({ '': false })).toThrow(InvalidPreferences);
    expect(() => parsePushPreferences({ system: 'false' })).toThrow(
      /push.system must be true or false/,
    );
    expect(() => parsePushPreferences({ system: 0 })).toThrow(InvalidPreferences);
  });

  it('refuses what is not a map, and too many kinds', () => {
    for (const bad of [null, undefined, [], 'system', 3])
      expect(() => parsePushPreferences(bad)).toThrow(/push must be an object/);
    const many = Object.fromEntries(
      Array.from({ length: MAX_PREFERENCE_KINDS + 1 }, (_, i) => [`k${i}`, false]),
    );
    expect(() => parsePushPreferences(many)).toThrow(/at most/);
  });
});
