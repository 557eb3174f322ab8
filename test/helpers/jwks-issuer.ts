import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

export type OutsideAlg = 'RS256' | 'ES256';

export interface IssuerKey {
  kid: string;
  alg: OutsideAlg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface TokenOptions {
  key: IssuerKey;
  sub: string;
  claims?: JWTPayload;
  /** Overrides of the standard claims. */
  iss?: string;
  aud?: string;
  /** Expiry, epoch seconds (default: in 10 minutes). */
  exp?: number;
  /** The header's kid (default: the key's). */
  kid?: string;
}

/**
 * An outside identity provider of the test's own, on loopback: real keys made here, their public
 * halves served as a JWKS at `<url>/<anything>/jwks.json`, every request counted per path (so each
 * instance can be given its own path and its fetches told apart). It can go down and come back
 * on the same port.
 */
export class TestIssuer {
  readonly issuer = `https://idp.test/${randomBytes(3).toString('hex')}/`;
  readonly audience = 'realtime-service';
  /** Keys whose public half is served. */
  private readonly published: IssuerKey[] = [];
  private readonly fetches = new Map<string, number[]>();
  private server: Server | null = null;
  private port = 0;

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.fetches.set(path, [...(this.fetches.get(path) ?? []), Date.now()]);
      if (!path.endsWith('/jwks.json')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: this.published.map((k) => k.publicJwk) }));
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the server: fetches get a refused connection until `start` again (same port). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }

  /** The JWKS URL for one instance (its own path, so its fetches are counted apart). */
  jwksUrl(path: string): string {
    return `http://127.0.0.1:${this.port}/${path}/jwks.json`;
  }

  env(path: string): Record<string, string> {
    return {
      JWT_JWKS_URL: this.jwksUrl(path),
      JWT_ISSUER: this.issuer,
      JWT_AUDIENCE: this.audience,
    };
  }

  /** How many times `path`'s key set was fetched. */
  fetchCount(path: string): number {
    return this.fetches.get(`/${path}/jwks.json`)?.length ?? 0;
  }

  lastFetchAt(path: string): number {
    return this.fetches.get(`/${path}/jwks.json`)?.at(-1) ?? 0;
  }

  /** A new key pair; published in the key set unless told otherwise. */
  async newKey(alg: OutsideAlg, publish = true): Promise<IssuerKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`;
    const key: IssuerKey = {
      kid,
      alg,
      privateKey,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    };
    if (publish) this.published.push(key);
    return key;
  }

  publish(key: IssuerKey): void {
    this.published.push(key);
  }

  /** A real signed token of this issuer (or, with overrides, of a look-alike). */
  sign(options: TokenOptions): Promise<string> {
    const { key } = options;
    return new SignJWT({ ...options.claims })
      .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
      .setIssuer(options.iss ?? this.issuer)
      .setAudience(options.aud ?? this.audience)
      .setSubject(options.sub)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(key.privateKey);
  }
}

/** base64url of a JSON value, for hand-made token parts. */
export const b64json = (value: unknown): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url');
