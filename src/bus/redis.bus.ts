import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { errorText } from '../common/background';
import {
  Bus,
  type BusFamily,
  type BusHandler,
  type BusStats,
  type BusTopic,
  type BusTopics,
  type Interest,
  type InterestFamily,
} from './bus';
import { InterestTable } from './interest-table';
import { LocalDispatcher } from './local-dispatcher';
import type { Outgoing, PubSub } from './pubsub';
import { BUS_ROUTES } from './routes';

interface Envelope {
  /** topic */
  k: string;
  /** origin instance */
  o: string;
  /** publish time, epoch ms */
  t: number;
  /** payload of one event */
  p?: unknown;
  /** payloads of a batch of events of the same topic, in order */
  b?: readonly unknown[];
}

/** Control payloads on the control channel: "my publishes failed; re-read what you track". */
const RESYNC = '_resync';
const CANARY = '_canary';
const CANARY_PREFIX = `{"k":"${CANARY}"`;
const PING_INTERVAL_MS = 5000;
const RESYNC_SPACING_MS = 1000;
const PING_TIMEOUT_MS = 3000;

/**
 * The Redis bus, over one Redis or a Redis Cluster (see PubSub). Events go out on exact
 * channels, one per room, user or symbol (`<prefix>rt:room:{<id>}`: the hash tag spreads them
 * over a cluster's slots), and an instance subscribes to a channel only while one of its own
 * clients needs it (`interest`), so it pays for its clients' traffic and nobody else's. Control
 * events go on one channel every instance subscribes to. Events are dispatched to this
 * instance's handlers at publish, so local clients keep getting live events while Redis is down;
 * copies that come back from Redis with our own origin are dropped, so nothing is delivered twice.
 */
export class RedisBus extends Bus {
  private readonly logger = new Logger('RedisBus');
  private readonly local = new LocalDispatcher();
  private readonly interests: InterestTable;
  private readonly counters = {
    published: 0,
    publishFailures: 0,
    received: { room: 0, user: 0, quote: 0, control: 0 } as Record<BusFamily, number>,
  };
  private readonly probes = new Map<string, () => void>();
  private readonly pingTimer: NodeJS.Timeout;
  private lastFailureLog = 0;
  private readonly resyncListeners = new Set<() => void>();
  private resyncTimer: NodeJS.Timeout | null = null;
  private lastResync = 0;
  /** A publish failed: other instances missed it; tell them once publishing works again. */
  private publishLost = false;
  private readonly controlChannel: string;
  /** This instance's own channel for readiness canaries: sharded on a cluster, like events. */
  private readonly canaryChannel: string;
  /** `"<instanceId>",` as it follows `"o":` in our own envelopes. */
  private readonly originMarker: string;
  /** Channel name prefix per family, to tell a message's family without parsing it. */
  private readonly familyPrefixes: ReadonlyArray<readonly [string, InterestFamily]>;

  constructor(
    private readonly pubsub: PubSub,
    private readonly prefix: string,
    private readonly instanceId: string,
  ) {
    super();
    this.originMarker = `${JSON.stringify(instanceId)},`;
    this.controlChannel = `${prefix}rt:control`;
    this.canaryChannel = `${prefix}rt:canary:{${instanceId}}`;
    this.familyPrefixes = (['room', 'user', 'quote'] as const).map(
      (f) => [`${prefix}rt:${f}:{`, f] as const,
    );
    this.interests = new InterestTable(
      {
        subscribe: (channel) => pubsub.subscribe(channel, true),
        unsubscribe: (channel) => pubsub.unsubscribe(channel, true),
        connected: () => pubsub.subscriberConnected(),
      },
      this.logger,
    );
    pubsub.onMessage((channel, message) => this.onMessage(channel, message));
    for (const [channel, sharded] of [
      [this.controlChannel, false],
      [this.canaryChannel, true],
    ] as const) {
      pubsub.subscribe(channel, sharded).catch((err: unknown) => this.logFailure('subscribe', err));
    }
    pubsub.onResubscribed(() => this.resync());
    pubsub.onPublisherReady(() => {
      if (!this.publishLost) return;
      this.publishLost = false;
      this.sendControl(RESYNC);
    });
    // An idle subscriber can die silently (NAT, a hung server): ping it, and reconnect when the
    // answer does not come; the subscriptions are made again on reconnection.
    this.pingTimer = setInterval(
      () =>
        pubsub.ping(PING_TIMEOUT_MS, () =>
          this.logger.warn('subscriber did not answer PING; reconnecting'),
        ),
      PING_INTERVAL_MS,
    );
    this.pingTimer.unref();
  }

  publish<T extends BusTopic>(topic: T, payload: BusTopics[T]): void {
    this.publishBatch(topic, [payload]);
  }

  publishBatch<T extends BusTopic>(topic: T, payloads: readonly BusTopics[T][]): void {
    if (payloads.length === 0) return;
    this.counters.published += payloads.length;
    const publishedAt = Date.now();
    const meta = { origin: this.instanceId, publishedAt };
    queueMicrotask(() => {
      for (const payload of payloads) this.local.dispatch(topic, payload, meta);
    });
    // One write per channel, its events in publish order.
    const route = BUS_ROUTES[topic];
    const byChannel = new Map<string, Array<BusTopics[T]>>();
    if (route.family === 'control') byChannel.set(this.controlChannel, [...payloads]);
    else
      for (const payload of payloads) {
        for (const [key, part] of route.split(payload)) {
          const channel = this.channel(route.family, key);
          const list = byChannel.get(channel);
          if (list === undefined) byChannel.set(channel, [part]);
          else list.push(part);
        }
      }
    const encoder: (part: BusTopics[T]) => string | undefined =
      (route.family === 'control' ? undefined : route.encode) ?? JSON.stringify;
    // JSON.stringify gives undefined (not text) for what JSON cannot hold; such a part is
    // refused here, counted and logged, rather than sent as text no receiver can parse.
    const encode = (part: BusTopics[T]): string => {
      const text = encoder(part);
      if (typeof text !== 'string') throw new Error('the payload has no JSON form');
      return text;
    };
    // The envelope's text ({k, o, t, then p or b}, as JSON.stringify of an Envelope writes it),
    // with the head all channels of the batch share written once.
    const head = `{"k":${JSON.stringify(topic)},"o":${this.originMarker}"t":${publishedAt},`;
    const out: Outgoing[] = [];
    const sharded = route.family !== 'control';
    for (const [channel, parts] of byChannel) {
      try {
        const message =
          parts.length === 1
            ? `${head}"p":${encode(parts[0])}}`
            : `${head}"b":[${parts.map((part) => encode(part)).join(',')}]}`;
        out.push({ channel, message, sharded });
      } catch (err) {
        this.counters.publishFailures++;
        this.logFailure(`encode ${topic}`, err);
      }
    }
    this.sendMany(out, topic);
  }

  subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void {
    return this.local.add(topic, handler);
  }

  interest(family: InterestFamily, key: string): Interest {
    return this.interests.hold(family, this.channel(family, key));
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /**
   * Tells the resync listeners, at most once a second: a topology change can be reported many
   * times a second while a master is down (ioredis re-making its subscribers), and each resync
   * re-reads every tracked room and user. A call while one is scheduled is covered by it (it
   * runs after the call), so the last change is always followed by a resync.
   */
  private resync(): void {
    if (this.resyncTimer !== null) return;
    const wait = Math.max(0, this.lastResync + RESYNC_SPACING_MS - Date.now());
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      this.lastResync = Date.now();
      this.notifyResync();
    }, wait);
    this.resyncTimer.unref();
  }

  private notifyResync(): void {
    this.logger.log('the bus may have missed events: re-reading what every tracked stream missed');
    for (const listener of this.resyncListeners) {
      try {
        listener();
      } catch (err) {
        this.logger.error(`resync listener failed: ${errorText(err)}`);
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
      this.send(this.canaryChannel, true, {
        k: CANARY,
        o: this.instanceId,
        t: Date.now(),
        p: nonce,
      });
    });
  }

  stats(): BusStats {
    return {
      published: this.counters.published,
      publishFailures: this.counters.publishFailures,
      received: { ...this.counters.received },
      channels: this.interests.counts(),
    };
  }

  close(): void {
    clearInterval(this.pingTimer);
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    for (const resolve of this.probes.values()) resolve();
  }

  private channel(family: InterestFamily, key: string): string {
    return `${this.prefix}rt:${family}:{${key}}`;
  }

  private familyOf(channel: string): BusFamily {
    for (const [prefix, family] of this.familyPrefixes)
      if (channel.startsWith(prefix)) return family;
    return 'control';
  }

  private sendControl(payload: string): void {
    this.send(this.controlChannel, false, {
      k: CANARY,
      o: this.instanceId,
      t: Date.now(),
      p: payload,
    });
  }

  private send(channel: string, sharded: boolean, envelope: Envelope): void {
    let message: string;
    try {
      message = JSON.stringify(envelope);
    } catch (err) {
      this.counters.publishFailures++;
      this.logFailure(`encode ${envelope.k}`, err);
      return;
    }
    this.sendMany([{ channel, message, sharded }], envelope.k);
  }

  /** Hands encoded messages of one topic to Redis together (one pipeline, or one script). */
  private sendMany(out: readonly Outgoing[], topic: string): void {
    if (out.length === 0) return;
    const failed = (err: unknown): void => {
      this.counters.publishFailures++;
      if (topic !== CANARY) this.publishLost = true;
      this.logFailure(`publish ${topic}`, err);
    };
    this.pubsub.publishMany(out).then(
      (errors) => errors.forEach((err) => err !== null && failed(err)),
      // publishMany resolves with each outcome; this keeps a broken implementation visible.
      (err: unknown) => out.forEach(() => failed(err)),
    );
  }

  private onMessage(channel: string, message: string): void {
    const family = this.familyOf(channel);
    // Our own publish coming back (we hold the channel too): delivered locally already, so it is
    // dropped before it is decoded. The envelope starts {"k":"<topic>","o":"<origin>", and a
    // topic never holds a quote, so the first `","o":` is the origin's.
    const origin = message.indexOf('","o":');
    if (origin > 0 && message.startsWith(this.originMarker, origin + 6)) {
      this.counters.received[family]++;
      if (!message.startsWith(CANARY_PREFIX)) return;
    }
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch {
      this.logger.warn(`dropped a malformed message on ${channel}`);
      return;
    }
    // Everything that arrives counts, our own echoes included (above, once per Redis message).
    if (envelope.o !== this.instanceId)
      this.counters.received[family] += Array.isArray(envelope.b) ? envelope.b.length : 1;
    if (envelope.k === CANARY) {
      if (envelope.p === RESYNC) {
        if (envelope.o !== this.instanceId) this.resync();
      } else if (envelope.o === this.instanceId && typeof envelope.p === 'string')
        this.probes.get(envelope.p)?.();
      return;
    }
    if (envelope.o === this.instanceId) return; // already delivered locally at publish
    const meta = { origin: envelope.o, publishedAt: envelope.t };
    if (Array.isArray(envelope.b)) {
      for (const payload of envelope.b) this.local.dispatch(envelope.k, payload, meta);
      return;
    }
    this.local.dispatch(envelope.k, envelope.p, meta);
  }

  private logFailure(what: string, err: unknown): void {
    // Redis being down makes every publish fail; one line a few seconds is enough.
    const now = Date.now();
    if (now - this.lastFailureLog < 5000) return;
    this.lastFailureLog = now;
    this.logger.warn(`${what} failed: ${errorText(err)}`);
  }
}
