import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { TEST_SECRET } from './helpers/env';
import { http, registerUser, type Registered } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';

/**
 * Tokens from an outside issuer (RS256, JWT_PUBLIC_KEY) next to our own (HS256): each accepted
 * with its own key only. The classic confusion, an HS256 token whose HMAC key is the public
 * key's PEM text, must be refused.
 */
describe('JWT keys: our HS256 tokens and an outside RS256 issuer', () => {
  const issuer = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = issuer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let db: TestDatabase;
  let app: Instance;
  let user: Registered;

  beforeAll(async () => {
    db = await createTestDatabase('jwtkeys');
    app = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('jwtkeys'),
      env: { JWT_PUBLIC_KEY: publicPem.replace(/\n/g, '\\n') },
    });
    user = await registerUser(app.url);
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  const me = async (token: string): Promise<number> =>
    (await http(app.url, '/api/me', { token })).status;

  it('accepts our own login token and an RS256 token signed by the configured issuer', async () => {
    await expect(me(user.token)).resolves.toBe(200);
    const outside = jwt.sign({ sub: user.user.id }, issuer.privateKey, {
      algorithm: 'RS256',
      expiresIn: 60,
    });
    await expect(me(outside)).resolves.toBe(200);
  });

  it('refuses RS256 from another key, HS256 keyed with the public PEM, and a wrong HS256 secret', async () => {
    const { sid } = jwt.decode(user.token) as { sid: string };
    const otherIssuer = jwt.sign({ sub: user.user.id }, stranger.privateKey, {
      algorithm: 'RS256',
      expiresIn: 60,
    });
    const confused = jwt.sign({ sub: user.user.id, sid }, publicPem, {
      algorithm: 'HS256',
      expiresIn: 60,
    });
    const wrongSecret = jwt.sign({ sub: user.user.id, sid }, `${TEST_SECRET}-not`, {
      algorithm: 'HS256',
      expiresIn: 60,
    });
    await expect(me(otherIssuer)).resolves.toBe(401);
    await expect(me(confused)).resolves.toBe(401);
    await expect(me(wrongSecret)).resolves.toBe(401);
  });
});
