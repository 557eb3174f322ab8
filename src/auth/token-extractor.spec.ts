import { extractToken } from './token-extractor';

describe('extractToken', () => {
  it('prefers an explicit handshake token, then the bearer header, then the cookie', () => {
    expect(extractToken({ authorization: 'Bearer h', cookie: 'access_token=c' }, 'e')).toBe('e');
    expect(extractToken({ authorization: 'Bearer h', cookie: 'access_token=c' })).toBe('h');
    expect(extractToken({ authorization: 'bearer   h2 ' })).toBe('h2');
    expect(extractToken({ cookie: 'other=1; access_token=c; x=2' })).toBe('c');
  });

  it('returns null for other schemes, empty values and no credentials', () => {
    expect(extractToken({ authorization: 'Basic abc' })).toBeNull();
    expect(extractToken({ authorization: 'Bearer' })).toBeNull();
    expect(extractToken({ cookie: 'access_token=' })).toBeNull();
    expect(extractToken({}, '')).toBeNull();
    expect(extractToken({}, 42)).toBeNull();
  });
});
