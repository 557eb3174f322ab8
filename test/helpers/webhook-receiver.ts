import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { WebhookEvent } from '../../src/contracts';

/** What the receiver does with one request: answer with a status, or never answer. */
export type Answer = number | 'hang';

/** One request as the receiver saw it, checked against the Standard Webhooks rules. */
export interface ReceivedHook {
  id: string;
  timestamp: number;
  /** A `v1,` signature in the header matched the HMAC of `<id>.<timestamp>.<raw body>`. */
  signatureValid: boolean;
  /** The attempt's time is within 5 minutes of the receiver's clock. */
  timestampRecent: boolean;
  contentType: string | undefined;
  event: WebhookEvent;
  /** Which attempt of this id it is at the receiver (from 1). */
  attempt: number;
  at: number;
  answer: Answer;
}

/** A request before it is answered. */
export type RequestSeen = Omit<ReceivedHook, 'answer' | 'at'>;

const TOLERANCE_S = 5 * 60;

/** The spec's key: `whsec_` secrets are base64 of the key, others are their own bytes. */
export function keyOf(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** Verifies a request as a Standard Webhooks consumer does (any `v1,` entry, constant time). */
export function verifySignature(
  key: Buffer,
  id: string,
  timestamp: string,
  rawBody: string,
  header: string,
): boolean {
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest();
  return header.split(' ').some((entry) => {
    const [version, sig] = entry.split(',');
    if (version !== 'v1' || sig === undefined) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * A webhook receiver on loopback, for tests: verifies every request's signature and timestamp,
 * records it, and answers as `decide` says (200 unless told otherwise).
 */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  decide: (hook: RequestSeen) => Answer = () => 200;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly key: Buffer;

  private constructor(secret: string) {
    this.key = keyOf(secret);
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(secret: string): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secret);
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Every request of one event id, in arrival order. */
  attemptsOf(id: string): ReceivedHook[] {
    return this.received.filter((h) => h.id === id);
  }

  /** The first request of each event that the receiver answered 2xx. */
  delivered(): ReceivedHook[] {
    const seen = new Set<string>();
    return this.received.filter((h) => {
      if (typeof h.answer !== 'number' || h.answer < 200 || h.answer > 299 || seen.has(h.id))
        return false;
      seen.add(h.id);
      return true;
    });
  }

  deliveredOf<T extends WebhookEvent['type']>(type: T): Array<Extract<WebhookEvent, { type: T }>> {
    return this.delivered()
      .map((h) => h.event)
      .filter((e): e is Extract<WebhookEvent, { type: T }> => e.type === type);
  }

  /** Answers nothing more to the requests left hanging (their clients see a reset). */
  dropHanging(): void {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      const timestampText = String(req.headers['webhook-timestamp'] ?? '');
      const timestamp = Number(timestampText);
      const hook = {
        id,
        timestamp,
        signatureValid: verifySignature(
          this.key,
          id,
          timestampText,
          raw,
          String(req.headers['webhook-signature'] ?? ''),
        ),
        timestampRecent:
          /^\d+$/.test(timestampText) && Math.abs(Date.now() / 1000 - timestamp) <= TOLERANCE_S,
        contentType: req.headers['content-type'],
        event: JSON.parse(raw) as WebhookEvent,
        attempt: this.attemptsOf(id).length + 1,
      };
      const answer = this.decide(hook);
      this.received.push({ ...hook, at: Date.now(), answer });
      if (answer === 'hang') {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    });
  }
}
