import type { Cluster, Redis } from 'ioredis';
import { withScripts } from '../redis/scripts';

/**
 * Redis pub/sub as the bus uses it, over one Redis or a Redis Cluster. Interest channels (a
 * room's, a user's, a symbol's) are "sharded" on a cluster: SPUBLISH / SSUBSCRIBE, so each lives
 * on the master owning its slot and a message crosses no other node. Control channels are
 * classic pub/sub, which a cluster broadcasts to every node, and so to every instance.
 */
/** One message for one channel, as `publishMany` takes them. */
export interface Outgoing {
  channel: string;
  message: string;
  sharded: boolean;
}

export interface PubSub {
  publish(channel: string, message: string, sharded: boolean): Promise<unknown>;
  /**
   * Several messages, in order. Resolves with each one's error (null: published); it never
   * rejects, so one failed channel cannot hide the others' outcome.
   */
  publishMany(messages: readonly Outgoing[]): Promise<Array<Error | null>>;
  subscribe(channel: string, sharded: boolean): Promise<unknown>;
  unsubscribe(channel: string, sharded: boolean): Promise<unknown>;
  onMessage(listener: (channel: string, message: string) => void): void;
  /** Called when messages may have been missed: a subscriber reconnected, or a failover. */
  onResubscribed(listener: () => void): void;
  /** Called when publishing works again after it failed. */
  onPublisherReady(listener: () => void): void;
  subscriberConnected(): boolean;
  /** Checks an idle subscriber connection; reconnects it if it does not answer. */
  ping(timeoutMs: number, onDead: () => void): void;
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** ARGV: channel, message, channel, message, …; publishes each pair in order. */
const PUBLISH_ALL = `
for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return #ARGV / 2`;

/** The script StandalonePubSub defines on its publisher connection, as a command. */
export interface PublishCommands {
  rtPublishAll(...channelsAndMessages: string[]): Promise<number>;
}

/**
 * From this many messages on, publishMany sends one script call instead of a pipeline of
 * PUBLISH commands. Each pipelined command costs the client a Command, a promise and a reply to
 * match; a script call costs one. For the 500,000 user messages of a weekly reminder the
 * service's CPU went from 4.4 s to 2.3 s, and Redis's from 0.4 s to 0.95 s (a redis.call costs
 * more than a parsed PUBLISH). A chat batch publishes to a few rooms, where a script would only
 * add Redis CPU, so small batches stay on the pipeline.
 */
export const SCRIPT_PUBLISH_FROM = 32;
/** At most this many messages per script call: one call blocks Redis while it runs. */
export const SCRIPT_PUBLISH_MAX = 1000;

/** One Redis: a publisher connection (shared with commands) and a subscriber connection. */
export class StandalonePubSub implements PubSub {
  private lost = false;
  private readonly publisher: Redis & PublishCommands;

  constructor(
    publisher: Redis,
    private readonly subscriber: Redis,
  ) {
    this.publisher = withScripts<PublishCommands>(publisher, {
      rtPublishAll: { numberOfKeys: 0, lua: PUBLISH_ALL },
    }) as Redis & PublishCommands;
    subscriber.on('close', () => (this.lost = true));
  }

  publish(channel: string, message: string): Promise<unknown> {
    return this.publisher.publish(channel, message);
  }

  /**
   * One socket write for all of them: a pipeline (every PUBLISH of a write batch in one write,
   * instead of a loopback write per room of the batch, which was the largest single cost of a
   * chat send on the sending instance), or for a fan-out, script calls.
   */
  async publishMany(messages: readonly Outgoing[]): Promise<Array<Error | null>> {
    if (messages.length === 1) {
      const { channel, message } = messages[0];
      return this.publisher.publish(channel, message).then(
        () => [null],
        (err: unknown) => [asError(err)],
      );
    }
    if (messages.length >= SCRIPT_PUBLISH_FROM) return this.publishByScript(messages);
    const pipeline = this.publisher.pipeline();
    for (const { channel, message } of messages) pipeline.publish(channel, message);
    try {
      const results = (await pipeline.exec()) ?? [];
      return messages.map((_, i) => results[i]?.[0] ?? null);
    } catch (err) {
      const failed = asError(err);
      return messages.map(() => failed);
    }
  }

  /** A call fails or succeeds as a whole (a PUBLISH itself cannot fail); so do its messages. */
  private async publishByScript(messages: readonly Outgoing[]): Promise<Array<Error | null>> {
    const calls: Array<Promise<Error | null>> = [];
    for (let from = 0; from < messages.length; from += SCRIPT_PUBLISH_MAX) {
      const args: string[] = [];
      const to = Math.min(messages.length, from + SCRIPT_PUBLISH_MAX);
      for (let i = from; i < to; i++) args.push(messages[i].channel, messages[i].message);
      calls.push(
        this.publisher.rtPublishAll(...args).then(
          () => null,
          (err: unknown) => asError(err),
        ),
      );
    }
    const outcomes = await Promise.all(calls);
    return messages.map((_, i) => outcomes[Math.floor(i / SCRIPT_PUBLISH_MAX)]);
  }
  subscribe(channel: string): Promise<unknown> {
    return this.subscriber.subscribe(channel);
  }
  unsubscribe(channel: string): Promise<unknown> {
    return this.subscriber.unsubscribe(channel);
  }
  onMessage(listener: (channel: string, message: string) => void): void {
    this.subscriber.on('message', listener);
  }
  onResubscribed(listener: () => void): void {
    // ioredis subscribes every channel again when it reconnects, then says ready.
    this.subscriber.on('ready', () => {
      if (!this.lost) return;
      this.lost = false;
      listener();
    });
  }
  onPublisherReady(listener: () => void): void {
    this.publisher.on('ready', listener);
  }
  subscriberConnected(): boolean {
    return this.subscriber.status === 'ready';
  }
  ping(timeoutMs: number, onDead: () => void): void {
    if (this.subscriber.status !== 'ready') return;
    let answered = false;
    const timer = setTimeout(() => {
      if (answered) return;
      onDead();
      this.subscriber.disconnect(true);
    }, timeoutMs);
    this.subscriber
      .ping()
      .then(() => {
        answered = true;
        clearTimeout(timer);
      })
      .catch(() => undefined);
  }
}

/**
 * A Redis Cluster: commands and publishes on one cluster client; subscriptions on another with
 * ioredis' sharded subscribers (one connection per master, re-made after a failover or a slot
 * migration, when ioredis re-subscribes what each held).
 */
export class ClusterPubSub implements PubSub {
  constructor(
    private readonly command: Cluster,
    private readonly subscriber: Cluster,
  ) {}

  publish(channel: string, message: string, sharded: boolean): Promise<unknown> {
    return sharded
      ? this.command.spublish(channel, message)
      : this.command.publish(channel, message);
  }
  /**
   * One command each: a cluster pipeline must stay on one node, and the channels of a batch
   * live on several.
   */
  publishMany(messages: readonly Outgoing[]): Promise<Array<Error | null>> {
    return Promise.all(
      messages.map(({ channel, message, sharded }) =>
        this.publish(channel, message, sharded).then(
          () => null,
          (err: unknown) => asError(err),
        ),
      ),
    );
  }
  subscribe(channel: string, sharded: boolean): Promise<unknown> {
    return sharded ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel);
  }
  unsubscribe(channel: string, sharded: boolean): Promise<unknown> {
    return sharded ? this.subscriber.sunsubscribe(channel) : this.subscriber.unsubscribe(channel);
  }
  onMessage(listener: (channel: string, message: string) => void): void {
    this.subscriber.on('message', listener);
    this.subscriber.on('smessage', listener);
  }
  onResubscribed(listener: () => void): void {
    // ioredis re-makes the sharded subscribers after each topology change it sees (a failover,
    // a slot moved: the slot map is re-read every few seconds) and then says so. Whatever was
    // published while a subscription moved may be missing. The first one is the initial setup.
    let initial = true;
    this.subscriber.on('subscribersReady', () => {
      if (initial) {
        initial = false;
        return;
      }
      listener();
    });
  }
  onPublisherReady(listener: () => void): void {
    this.command.on('ready', listener);
  }
  subscriberConnected(): boolean {
    return this.subscriber.status === 'ready';
  }
  /** Cluster connections are watched by ioredis itself (topology refresh, node errors). */
  ping(): void {
    return undefined;
  }
}
