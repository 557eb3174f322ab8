import {
  createDecipheriv,
  createECDH,
  createHmac,
  createPublicKey,
  randomBytes,
  verify,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A browser's side of one subscription: what it registers and what it decrypts with. */
export interface TestSubscription {
  path: string;
  endpoint: string;
  keys: { p256dh: string; auth: string };
  /** The user agent's ECDH key pair (private part kept here, as a browser keeps it). */
  ecdh: ReturnType<typeof createECDH>;
  authSecret: Buffer;
}

/** One POST the stand-in received, after checking its VAPID header and decrypting it. */
export interface ReceivedPush {
  path: string;
  status: number;
  /** The decrypted payload (null when it could not be decrypted). */
  payload: string | null;
  ttl: string | undefined;
  /** The `k=` of the Authorization header: the VAPID public key that signed. */
  vapidKey: string;
  /** Why the request was refused by the checks; null when it passed. */
  problem: string | null;
}

const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * RFC 8291 (with RFC 8188's aes128gcm framing) on the receiving side, written out from the RFC
 * rather than with the sender's library, so the test does not check web-push against itself.
 */
export function decryptAes128gcm(body: Buffer, sub: TestSubscription): string {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  const asPublic = body.subarray(21, 21 + idlen);
  const records = body.subarray(21 + idlen);
  if (idlen !== 65) throw new Error(`keyid must be the 65-byte sender key, got ${idlen} bytes`);
  if (records.length > rs) throw new Error('more than one record');
  const uaPublic = sub.ecdh.getPublicKey();
  const ecdhSecret = sub.ecdh.computeSecret(asPublic);
  // HKDF-Extract(auth_secret, ecdh_secret), then Expand with "WebPush: info" || 0 || ua || as.
  const prkKey = hmac(sub.authSecret, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(records.subarray(records.length - 16));
  const plain = Buffer.concat([
    decipher.update(records.subarray(0, records.length - 16)),
    decipher.final(),
  ]);
  // The last record: data, then the 0x02 delimiter, then zero padding.
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error('no 0x02 padding delimiter (last record)');
  return plain.subarray(0, end).toString('utf8');
}

/** RFC 8292: `vapid t=<JWT>, k=<key>`, the JWT ES256-signed by k, for this origin, soon expiring. */
export function checkVapid(
  authorization: string | undefined,
  origin: string,
  subject: string,
): { key: string; problem: string | null } {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (match === null) return { key: '', problem: `bad Authorization: ${authorization}` };
  const [, jwt, key] = match;
  const [head, body, signature] = jwt.split('.');
  const point = Buffer.from(key, 'base64url');
  const publicKey = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
  const signed = verify(
    'sha256',
    Buffer.from(`${head}.${body}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  if (!signed) return { key, problem: 'JWT signature does not verify with k' };
  const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string };
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as {
    aud?: string;
    exp?: number;
    sub?: string;
  };
  const now = Date.now() / 1000;
  if (header.alg !== 'ES256') return { key, problem: `alg ${header.alg}` };
  if (claims.aud !== origin) return { key, problem: `aud ${claims.aud}, not ${origin}` };
  if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 86400)
    return { key, problem: `exp ${claims.exp} not within 24 h` };
  if (claims.sub !== subject) return { key, problem: `sub ${claims.sub}, not ${subject}` };
  return { key, problem: null };
}

const bodyOf = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/**
 * A push service of the test's own on loopback: subscriptions are paths on it; each POST is
 * checked (VAPID) and decrypted (RFC 8291) with the subscription's private key, and answered
 * with what `decide` says (201 by default; 401 when the checks fail).
 */
export class PushServiceStandIn {
  readonly received: ReceivedPush[] = [];
  decide: (path: string, attempt: number) => number = () => 201;
  private readonly subscriptions = new Map<string, TestSubscription>();
  private counter = 0;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    private readonly subject: string,
  ) {}

  static async start(subject: string): Promise<PushServiceStandIn> {
    let standIn: PushServiceStandIn | null = null;
    const server = createServer((req, res) => {
      bodyOf(req).then(
        (body) => {
          res.statusCode = standIn?.handle(req, body) ?? 500;
          res.end();
        },
        () => res.destroy(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    standIn = new PushServiceStandIn(server, `http://127.0.0.1:${port}`, subject);
    return standIn;
  }

  /** What PUSH_ENDPOINT_ALLOW must hold for this stand-in. */
  get allowPrefix(): string {
    return `${this.origin}/`;
  }

  /** A new browser subscription (fresh keys and auth secret) on a path of its own. */
  subscribe(): TestSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const path = `/push/${++this.counter}-${randomBytes(4).toString('hex')}`;
    const sub: TestSubscription = {
      path,
      endpoint: `${this.origin}${path}`,
      keys: {
        p256dh: ecdh.getPublicKey().toString('base64url'),
        auth: authSecret.toString('base64url'),
      },
      ecdh,
      authSecret,
    };
    this.subscriptions.set(path, sub);
    return sub;
  }

  /** Requests to one subscription, in arrival order. */
  to(sub: TestSubscription): ReceivedPush[] {
    return this.received.filter((r) => r.path === sub.path);
  }

  /** Payloads the stand-in accepted (2xx) for one subscription, parsed. */
  delivered<T>(sub: TestSubscription): T[] {
    return this.to(sub)
      .filter((r) => r.status >= 200 && r.status < 300 && r.payload !== null)
      .map((r) => JSON.parse(r.payload ?? '') as T);
  }

  problems(): string[] {
    return this.received.flatMap((r) => (r.problem === null ? [] : [`${r.path}: ${r.problem}`]));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, body: Buffer): number {
    const path = req.url ?? '';
    const sub = this.subscriptions.get(path);
    const ttl = req.headers.ttl as string | undefined;
    const { key, problem: vapidProblem } = checkVapid(
      req.headers.authorization,
      this.origin,
      this.subject,
    );
    let payload: string | null = null;
    let problem = vapidProblem;
    if (sub === undefined) problem ??= 'unknown subscription';
    else if (req.headers['content-encoding'] !== 'aes128gcm')
      problem ??= `content-encoding ${req.headers['content-encoding']}`;
    else if (ttl === undefined) problem ??= 'no TTL header';
    else {
      try {
        payload = decryptAes128gcm(body, sub);
      } catch (err) {
        problem ??= `not decryptable: ${(err as Error).message}`;
      }
    }
    const status =
      problem !== null
        ? 401
        : this.decide(path, this.received.filter((r) => r.path === path).length + 1);
    this.received.push({ path, status, payload, ttl, vapidKey: key, problem });
    return status;
  }
}
