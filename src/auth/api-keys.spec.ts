import { splitApiKeys } from '../config/config.schema';
import { ApiKeyMatcher } from './api-keys';

describe('service API keys', () => {
  const old = 'old-key-0123456789abcdef';
  const fresh = 'new-key-0123456789abcdef';

  it('splits a comma-separated list, trimming and dropping empty items', () => {
    expect(splitApiKeys(`${old}`)).toEqual([old]);
    expect(splitApiKeys(` ${old} , ${fresh},, `)).toEqual([old, fresh]);
    expect(splitApiKeys(' , ')).toEqual([]);
  });

  it('accepts every configured key and nothing else', () => {
    const keys = new ApiKeyMatcher([old, fresh]);
    expect(keys.matches(old)).toBe(true);
    expect(keys.matches(fresh)).toBe(true);
    expect(keys.matches(`${old},${fresh}`)).toBe(false);
    expect(keys.matches(old.slice(0, -1))).toBe(false);
    expect(keys.matches(`${old} `)).toBe(false);
    expect(keys.matches('')).toBe(false);
    expect(keys.matches(undefined)).toBe(false);
    expect(keys.matches([old])).toBe(false);
  });

  it('needs at least one key', () => {
    expect(() => new ApiKeyMatcher([])).toThrow();
  });
});
