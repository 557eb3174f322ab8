import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { SignJWT } from 'jose';
import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { TEST_API_KEY } from './helpers/env';
import { http } from './helpers/http';
import { startInstance, uniquePrefix, type Instance } from './helpers/instance';
import { b64json, TestIssuer, type IssuerKey } from './helpers/jwks-issuer';
import { publish } from './helpers/publish';
import { connectSocket } from './helpers/socket';
import { openSse } from './helpers/sse';
import { waitUntil } from './helpers/wait';

interface Me {
  id: string;
  username: string;
  displayName: string;
  externalId: string | null;
}

interface Ready {
  message?: string;
  details?: Record<string, { status: string; degraded?: boolean; message?: string }>;
}

/** jose's cooldown and the contract's bound: an unknown kid refetches at most once in it. */
const COOLDOWN_MS = 30_000;
const SECOND_API_KEY = 'second-service-key-rotated-in-0123';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Until the cooldown since `path`'s last fetch has passed. */
const coolDown = (issuer: TestIssuer, path: string): Promise<void> =>
  sleep(Math.max(0, issuer.lastFetchAt(path) + COOLDOWN_MS + 500 - Date.now()));
const whenReady = (instance: Instance, timeoutMs = 15_000): Promise<number> =>
  waitUntil(
    async () => (await http(instance.url, '/health/ready')).status === 200,
    timeoutMs,
    `${instance.id} ready`,
    200,
  );

let seq = 0;
const newSub = (label: string): string => `idp|${label}-${process.pid}-${++seq}-${Date.now()}`;

/**
 * Outside identity through real instances: an identity provider of the test's own serves a real
 * JWKS on loopback, tokens are signed with its keys, and the service fetches, caches and
 * refetches that set as it would a real provider's.
 */
describe('outside identity: tokens of a JWKS issuer', () => {
  const idp = new TestIssuer();
  /** JWT_PUBLIC_KEY's issuer, configured beside the JWKS one. */
  const pemIssuer = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pemPublic = pemIssuer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  /** A second provider, down when its instance starts. */
  const lateIdp = new TestIssuer();
  let rsa: IssuerKey;
  let ec: IssuerKey;
  let db: TestDatabase;
  let a: Instance;
  let b: Instance;
  let late: Instance | undefined;
  /** A token of the late provider, accepted once it came up. */
  let lateToken = '';

  beforeAll(async () => {
    await idp.start();
    rsa = await idp.newKey('RS256');
    ec = await idp.newKey('ES256');
    db = await createTestDatabase('jwks');
    const prefix = uniquePrefix('jwks');
    [a, b] = await Promise.all(
      ['a', 'b'].map((path) =>
        startInstance({
          databaseUrl: db.url,
          redisPrefix: prefix,
          env: {
            ...idp.env(path),
            SERVICE_API_KEY: `${TEST_API_KEY},${SECOND_API_KEY}`,
            JWT_PUBLIC_KEY: pemPublic.replace(/\n/g, '\\n'),
            SSE_HEARTBEAT_MS: '1000',
          },
        }),
      ),
    );
    for (const instance of [a, b]) await whenReady(instance);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), late?.stop()]);
    await Promise.all([idp.stop(), lateIdp.stop()]);
    await db?.drop();
  });

  const me = (instance: Instance, token: string) => http<Me>(instance.url, '/api/me', { token });
  const status = async (instance: Instance, token: string): Promise<number> =>
    (await me(instance, token)).status;

  it('accepts RS256 and ES256 tokens on REST, as one local user per sub with its externalId', async () => {
    const sub = newSub('rest');
    const claims = {
      preferred_username: `ext_${seq}_${process.pid}`.slice(0, 32),
      name: ' Ada  Lovelace ',
    };
    const viaRsa = await me(a, await idp.sign({ key: rsa, sub, claims }));
    expect(viaRsa.status).toBe(200);
    expect(viaRsa.body).toMatchObject({
      username: claims.preferred_username,
      displayName: 'Ada Lovelace',
      externalId: sub,
    });
    // The other key, the other instance, the cookie: the same user.
    const ecToken = await idp.sign({ key: ec, sub, claims });
    const viaEc = await me(b, ecToken);
    expect(viaEc.body).toEqual(viaRsa.body);
    const viaCookie = await http<Me>(a.url, '/api/me', {
      headers: { cookie: `access_token=${ecToken}` },
    });
    expect(viaCookie.body.id).toBe(viaRsa.body.id);
    // No password here: the username cannot be logged in with one.
    const login = await http(a.url, '/api/auth/login', {
      body: { username: claims.preferred_username, password: 'correct horse battery' },
    });
    expect(login.status).toBe(401);
  });

  it('keeps accepting local tokens beside it, each only with its own key', async () => {
    const reg = await http<{ accessToken: string; user: Me }>(a.url, '/api/auth/register', {
      body: {
        username: `local_${process.pid}_${++seq}`.slice(0, 32),
        password: 'correct horse battery',
      },
    });
    expect(reg.status).toBe(201);
    await expect(status(a, reg.body.accessToken)).resolves.toBe(200);
    const local = (await me(a, reg.body.accessToken)).body;
    expect(local.externalId).toBeNull();
    const pemSigned = (claims: object): string =>
      jwt.sign({ sub: local.id, ...claims }, pemIssuer.privateKey, {
        algorithm: 'RS256',
        expiresIn: 60,
      });
    await expect(status(a, pemSigned({}))).resolves.toBe(200);
    // Claiming the outside issuer sends a token to its JWKS, and to nothing else.
    await expect(status(a, pemSigned({ iss: idp.issuer, aud: idp.audience }))).resolves.toBe(401);
  });

  it('accepts them on Socket.IO handshakes', async () => {
    const token = await idp.sign({ key: ec, sub: newSub('socket') });
    const socket = await connectSocket(a.url, token);
    try {
      expect(socket.connected).toBe(true);
    } finally {
      socket.close();
    }
    const forged = await idp.sign({ key: ec, sub: newSub('socket'), aud: 'someone-else' });
    await expect(connectSocket(a.url, forged)).rejects.toThrow(/unauthorized/);
  });

  it('issues stream tickets to them, and the stream they open ends with the token', async () => {
    const sub = newSub('stream');
    const exp = Math.floor(Date.now() / 1000) + 4;
    const token = await idp.sign({ key: rsa, sub, exp });
    const user = (await me(a, token)).body;
    const issued = await http<{ ticket: string; expiresAt: string }>(
      a.url,
      '/api/auth/stream-ticket',
      { method: 'POST', token },
    );
    expect(issued.status).toBe(201);
    // The ticket cannot outlive the token (4 s), though tickets last up to 30 s.
    expect(Date.parse(issued.body.expiresAt)).toBeLessThanOrEqual(exp * 1000);

    // Redeemed on the other instance: tickets live in Postgres.
    const stream = await openSse(
      `${b.url}/api/notifications/stream?ticket=${encodeURIComponent(issued.body.ticket)}`,
    );
    try {
      expect(stream.status).toBe(200);
      await publish(a.url, { userIds: [user.id], title: 'for the outside user' });
      await stream.waitForRaw(/for the outside user/);
      const endedAt = await stream.ended.then(() => Date.now());
      expect(endedAt).toBeGreaterThanOrEqual(exp * 1000 - 1000);
    } finally {
      stream.close();
    }
  });

  it('refuses every token that is not the issuer’s, as it was issued, for this audience', async () => {
    const sub = newSub('bad');
    const now = Math.floor(Date.now() / 1000);
    const unpublished = await idp.newKey('RS256', false);
    const pem = createPublicKey({ key: rsa.publicJwk, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const hs256With = (secret: string): Promise<string> =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .setIssuer(idp.issuer)
        .setAudience(idp.audience)
        .setSubject(sub)
        .setExpirationTime(now + 600)
        .sign(new TextEncoder().encode(secret));
    const payload = { iss: idp.issuer, aud: idp.audience, sub, exp: now + 600 };
    const ecToken = await idp.sign({ key: ec, sub });
    const [, ecPayload, ecSignature] = ecToken.split('.');
    const bad: Record<string, string> = {
      'wrong aud': await idp.sign({ key: rsa, sub, aud: 'another-service' }),
      'wrong iss': await idp.sign({ key: rsa, sub, iss: 'https://elsewhere.test/' }),
      expired: await idp.sign({ key: rsa, sub, exp: now - 5 }),
      'unknown kid': await idp.sign({ key: unpublished, sub }),
      'known kid, other key': await idp.sign({ key: unpublished, sub, kid: rsa.kid }),
      'no kid': await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(idp.issuer)
        .setAudience(idp.audience)
        .setSubject(sub)
        .setExpirationTime(now + 600)
        .sign(rsa.privateKey),
      'alg none': `${b64json({ alg: 'none', kid: rsa.kid })}.${b64json(payload)}.`,
      'HS256 keyed with the public PEM': await hs256With(pem),
      'HS256 keyed with the public JWK': await hs256With(JSON.stringify(rsa.publicJwk)),
      'ES256 signature, header says RS256': `${b64json({ alg: 'RS256', kid: ec.kid })}.${ecPayload}.${ecSignature}`,
      'ES256 signature, RS256 header and key': `${b64json({ alg: 'RS256', kid: rsa.kid })}.${ecPayload}.${ecSignature}`,
      'sub over 255 characters': await idp.sign({ key: rsa, sub: 'x'.repeat(256) }),
      'tampered payload': `${ecToken.split('.')[0]}.${b64json({ ...payload, sub: `${sub}-other` })}.${ecSignature}`,
    };
    const results = Object.fromEntries(
      await Promise.all(
        Object.entries(bad).map(async ([what, token]) => [what, await status(a, token)] as const),
      ),
    );
    expect(results).toEqual(Object.fromEntries(Object.keys(bad).map((what) => [what, 401])));
    // None of them made a user.
    const made = await query(db.url, `SELECT 1 FROM users WHERE external_id LIKE $1`, [`${sub}%`]);
    expect(made).toHaveLength(0);
    // And the good one still works.
    await expect(status(a, ecToken)).resolves.toBe(200);
  });

  it('generates a username when preferred_username is taken or invalid', async () => {
    const taken = `taken_${process.pid}_${++seq}`.slice(0, 32);
    const reg = await http(a.url, '/api/auth/register', {
      body: { username: taken, password: 'correct horse battery' },
    });
    expect(reg.status).toBe(201);
    const asTaken = await me(
      a,
      await idp.sign({ key: rsa, sub: newSub('taken'), claims: { preferred_username: taken } }),
    );
    expect(asTaken.status).toBe(200);
    expect(asTaken.body.username).not.toBe(taken);
    expect(asTaken.body.username).toMatch(
      new RegExp(`^${taken.slice(0, 20).replace(/_+$/, '')}_[a-z0-9]{8}$`),
    );
    expect(asTaken.body.displayName).toBe(asTaken.body.username);
    const invalid = await me(
      a,
      await idp.sign({
        key: rsa,
        sub: newSub('invalid'),
        claims: { preferred_username: 'Grace Hopper!', name: 'Grace' },
      }),
    );
    expect(invalid.body.username).toMatch(/^grace_hopper_[a-z0-9]{8}$/);
    expect(invalid.body.displayName).toBe('Grace');
  });

  it('creates one user for a new sub first seen on two instances at once', async () => {
    const sub = newSub('race');
    const token = await idp.sign({
      key: rsa,
      sub,
      claims: { preferred_username: `race_${process.pid}_${seq}`.slice(0, 32) },
    });
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => me(i % 2 === 0 ? a : b, token)),
    );
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    expect(new Set(answers.map((r) => r.body.id)).size).toBe(1);
    const rows = await query(db.url, `SELECT id FROM users WHERE external_id = $1`, [sub]);
    expect(rows).toEqual([{ id: answers[0].body.id }]);
  });

  it('takes every key of a SERVICE_API_KEY list, and no other', async () => {
    const user = (await me(a, await idp.sign({ key: rsa, sub: newSub('keys') }))).body;
    const send = async (apiKey: string): Promise<number> =>
      (
        await http(a.url, '/api/notifications', {
          apiKey,
          body: { userIds: [user.id], kind: 'system', title: 't', body: 'b' },
        })
      ).status;
    await expect(send(TEST_API_KEY)).resolves.toBe(202);
    await expect(send(SECOND_API_KEY)).resolves.toBe(202);
    await expect(send('third-service-key-never-configured')).resolves.toBe(401);
    await expect(send(`${TEST_API_KEY},${SECOND_API_KEY}`)).resolves.toBe(401);
  });

  it('is not ready while the JWKS cannot be fetched, says so once, and works once it can', async () => {
    await lateIdp.start();
    const key = await lateIdp.newKey('ES256');
    const url = lateIdp.jwksUrl('late');
    await lateIdp.stop();
    late = await startInstance({
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('jwks-late'),
      env: lateIdp.env('late'),
    });
    const token = await lateIdp.sign({ key, sub: newSub('late') });
    lateToken = token;
    await late.waitForOutput(/JWKS \S+ could not be fetched/);
    // Several tries fail (readiness, a token, the background retries)...
    for (let i = 0; i < 3; i++) {
      const ready = await http<Ready>(late.url, '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.message).toMatch(/^not ready: jwks \(key set could not be fetched: /);
      expect(ready.body.details?.jwks.status).toBe('down');
      expect(ready.body.details?.database.status).toBe('up');
      await expect(status(late, token)).resolves.toBe(401);
      await sleep(2500);
    }
    // ... and one warning says so, naming the URL, never a token.
    const warnings = late.output().match(/JWKS \S+ could not be fetched: [^\n]*/g) ?? [];
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(url);
    expect(warnings[0]).toContain('no outside token can be verified');
    expect(late.output()).not.toContain(token);

    await lateIdp.start(); // the same port
    await whenReady(late);
    await expect(status(late, token)).resolves.toBe(200);
    await late.waitForOutput(/JWKS \S+ fetched again; outside tokens are verified/);
  }, 40_000);

  it('follows a key rotation without a restart: one refetch, however many unknown kids arrive', async () => {
    // The cooldown runs from the last fetch (at start): wait it out, as a rotation would.
    await coolDown(idp, 'a');
    const before = idp.fetchCount('a');
    const rotated = await idp.newKey('RS256');
    const stranger = await idp.newKey('ES256', false);
    const sub = newSub('rotated');

    // An unknown kid fetches the set again: still unknown, refused.
    await expect(status(a, await idp.sign({ key: stranger, sub }))).resolves.toBe(401);
    expect(idp.fetchCount('a')).toBe(before + 1);
    // That fetch brought the new key: its tokens work, with no fetch more.
    await expect(status(a, await idp.sign({ key: rotated, sub }))).resolves.toBe(200);
    // A flood of unknown kids within the cooldown: refused, and not one fetch more.
    const flood = await Promise.all(
      Array.from({ length: 40 }, async (_, i) =>
        status(a, await idp.sign({ key: stranger, sub, kid: `flood-${i}` })),
      ),
    );
    expect(flood).toEqual(flood.map(() => 401));
    expect(idp.fetchCount('a')).toBe(before + 1);
    // The old keys still work meanwhile.
    await expect(status(a, await idp.sign({ key: rsa, sub }))).resolves.toBe(200);
    await expect(status(a, await idp.sign({ key: ec, sub }))).resolves.toBe(200);
  }, 60_000);

  it('keeps serving with the cached keys when a refresh fails: ready, marked degraded', async () => {
    const instance = late;
    if (instance === undefined) throw new Error('needs the late instance');
    await lateIdp.stop();
    // An unknown kid past the cooldown: the refresh it asks for fails.
    const unknown = await lateIdp.newKey('RS256', false);
    await coolDown(lateIdp, 'late');
    const stranger = await lateIdp.sign({ key: unknown, sub: newSub('stranger') });
    await expect(status(instance, stranger)).resolves.toBe(401);
    await instance.waitForOutput(
      /could not be fetched: [^\n]*verified with the key set fetched at/,
    );
    const ready = await http<Ready>(instance.url, '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details?.jwks).toMatchObject({ status: 'up', degraded: true });
    // The tokens the cached set verifies still work.
    await expect(status(instance, lateToken)).resolves.toBe(200);
  }, 60_000);
});
