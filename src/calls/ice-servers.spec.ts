import { createHmac } from 'node:crypto';
import { parseConfig } from '../config/config.schema';
import { IceServers, turnCredential } from './ice-servers';

describe('TURN REST credentials', () => {
  it('signs "<expiry>:<userId>" with HMAC-SHA1 of the shared secret, base64', () => {
    const { username, credential } = turnCredential('s3cret-s3cret-s3cret', 'u-1', 1_700_000_000);
    expect(username).toBe('1700000000:u-1');
    // As coturn computes it for use-auth-secret.
    expect(credential).toBe(
      createHmac('sha1', 's3cret-s3cret-s3cret').update('1700000000:u-1').digest('base64'),
    );
  });

  it('lists STUN as configured and TURN with credentials valid for TURN_TTL_SECONDS', () => {
    const config = parseConfig({
      STUN_URLS: 'stun:stun.example.org:3478',
      TURN_URLS: 'turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349',
      TURN_SECRET: 'a-turn-secret-of-length',
      TURN_TTL_SECONDS: '600',
    });
    const view = new IceServers(config).forUser('u-2', 1_000_000_000_000);
    expect(view).toEqual({
      ttlSeconds: 600,
      iceServers: [
        { urls: ['stun:stun.example.org:3478'] },
        {
          urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'],
          ...turnCredential('a-turn-secret-of-length', 'u-2', 1_000_000_000 + 600),
        },
      ],
    });
  });

  it('refuses TURN_URLS without a TURN_SECRET, and bad URLs', () => {
    expect(() => parseConfig({ TURN_URLS: 'turn:x.org' })).toThrow(/TURN_URLS needs TURN_SECRET/);
    expect(() => parseConfig({ STUN_URLS: 'http://x.org' })).toThrow(/STUN_URLS/);
  });
});
