import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { Bus, type BusHandler, type BusStats, type BusTopic, type BusTopics } from './bus';
import { LocalDispatcher } from './local-dispatcher';

interface Envelope {
  /** origin instance */
  o: string;
  /** publish time, epoch ms */
  t: number;
  /** payload of one event */
  p?: unknown;
  /** payloads of a batch of events of the same topic, in order */
  b?: readonly unknown[];
}

const CANARY = '_canary';
/** Control message on the canary channel: "my publishes failed; re-read what you track". */
const RESYNC = '_resync';
const PING_INTERVAL_MS = 5000;
const PING_TIMEOUT_MS = 3000;

/**
 * Redis pub/sub bus: one publisher connection (shared with other Redis commands) and one
 * subscriber connection. Events are dispatched to this instance's handlers directly, so local
 * clients keep getting live events while Redis is down; copies that come back from Redis with
 * our own origin are dropped, so nothing is delivered twice.
 */
export class RedisBus extends Bus {
  private readonly logger = new Logger('RedisBus');
  private readonly local = new LocalDispatcher();
  private readonly counters: BusStats = { published: 0, publishFailures: 0, received: 0 };
  private readonly probes = new Map<string, () => void>();
  private readonly pingTimer: NodeJS.Timeout;
  private lastFailureLog = 0;
  private readonly resyncListeners = new Set<() => void>();
  /** The subscriber lost its connection: whatever was published meanwhile never reached us. */
  private subscriberLost = false;
  /** A publish failed: other instances missed it; tell them once publishing works again. */
  private publishLost = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly instanceId: string,
  ) {
    super();
    subscriber.on('message', (channel: string, message: string) =>
      this.onMessage(channel, message),
    );
    this.subscriber
      .subscribe(this.channel(CANARY))
      .catch((err: unknown) => this.logFailure('subscribe', err));
    subscriber.on('close', () => (this.subscriberLost = true));
    // ioredis subscribes every channel again when it reconnects, then says ready.
    subscriber.on('ready', () => {
      if (!this.subscriberLost) return;
      this.subscriberLost = false;
      this.logger.log('subscriber reconnected; re-reading what was published meanwhile');
      this.resync();
    });
    publisher.on('ready', () => {
      if (!this.publishLost) return;
      this.publishLost = false;
      this.send(CANARY, { o: this.instanceId, t: Date.now(), p: RESYNC });
    });
    // An idle subscriber can die silently (NAT, a hung server): ping it, and reconnect when the
    // answer does not come. ioredis re-subscribes every channel after reconnecting.
    this.pingTimer = setInterval(() => this.pingSubscriber(), PING_INTERVAL_MS);
    this.pingTimer.unref();
  }

  publish<T extends BusTopic>(topic: T, payload: BusTopics[T]): void {
    this.counters.published++;
    const publishedAt = Date.now();
    queueMicrotask(() =>
      this.local.dispatch(topic, payload, { origin: this.instanceId, publishedAt }),
    );
    this.send(topic, { o: this.instanceId, t: publishedAt, p: payload });
  }

  publishBatch<T extends BusTopic>(topic: T, payloads: readonly BusTopics[T][]): void {
    if (payloads.length === 0) return;
    if (payloads.length === 1) return this.publish(topic, payloads[0]);
    this.counters.published += payloads.length;
    const publishedAt = Date.now();
    const meta = { origin: this.instanceId, publishedAt };
    queueMicrotask(() => {
      for (const payload of payloads) this.local.dispatch(topic, payload, meta);
    });
    this.send(topic, { o: this.instanceId, t: publishedAt, b: payloads });
  }

  subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void {
    const { first, remove } = this.local.add(topic, handler);
    if (first) {
      this.subscriber
        .subscribe(this.channel(topic))
        .catch((err: unknown) => this.logFailure('subscribe', err));
    }
    return () => {
      if (remove()) {
        this.subscriber.unsubscribe(this.channel(topic)).catch(() => undefined);
      }
    };
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  private resync(): void {
    for (const listener of this.resyncListeners) {
      try {
        listener();
      } catch (err) {
        this.logger.error(
          `resync listener failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }

  probe(timeoutMs: number): Promise<boolean> {
    const nonce = randomUUID();
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.probes.delete(nonce);
        resolve(false);
      }, timeoutMs);
      this.probes.set(nonce, () => {
        clearTimeout(timer);
        this.probes.delete(nonce);
        resolve(true);
      });
      this.send(CANARY, { o: this.instanceId, t: Date.now(), p: nonce });
    });
  }

  stats(): BusStats {
    return { ...this.counters };
  }

  close(): void {
    clearInterval(this.pingTimer);
    for (const resolve of this.probes.values()) resolve();
  }

  private channel(topic: string): string {
    return `${this.prefix}bus:${topic}`;
  }

  private send(topic: string, envelope: Envelope): void {
    let json: string;
    try {
      json = JSON.stringify(envelope);
    } catch (err) {
      this.counters.publishFailures++;
      this.logFailure(`encode ${topic}`, err);
      return;
    }
    this.publisher.publish(this.channel(topic), json).catch((err: unknown) => {
      this.counters.publishFailures++;
      if (topic !== CANARY) this.publishLost = true;
      this.logFailure(`publish ${topic}`, err);
    });
  }

  private onMessage(channel: string, message: string): void {
    const topic = channel.slice(this.prefix.length + 4);
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch {
      this.logger.warn(`dropped a malformed message on ${channel}`);
      return;
    }
    if (topic === CANARY) {
      if (envelope.p === RESYNC) {
        if (envelope.o !== this.instanceId) this.resync();
      } else if (envelope.o === this.instanceId && typeof envelope.p === 'string')
        this.probes.get(envelope.p)?.();
      return;
    }
    if (envelope.o === this.instanceId) return; // already delivered locally at publish
    const meta = { origin: envelope.o, publishedAt: envelope.t };
    if (Array.isArray(envelope.b)) {
      this.counters.received += envelope.b.length;
      for (const payload of envelope.b) this.local.dispatch(topic, payload, meta);
      return;
    }
    this.counters.received++;
    this.local.dispatch(topic, envelope.p, meta);
  }

  private pingSubscriber(): void {
    if (this.subscriber.status !== 'ready') return;
    let answered = false;
    const timer = setTimeout(() => {
      if (answered) return;
      this.logger.warn('subscriber did not answer PING; reconnecting');
      this.subscriber.disconnect(true);
    }, PING_TIMEOUT_MS);
    this.subscriber
      .ping()
      .then(() => {
        answered = true;
        clearTimeout(timer);
      })
      .catch(() => undefined);
  }

  private logFailure(what: string, err: unknown): void {
    // Redis being down makes every publish fail; one line a few seconds is enough.
    const now = Date.now();
    if (now - this.lastFailureLog < 5000) return;
    this.lastFailureLog = now;
    this.logger.warn(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
