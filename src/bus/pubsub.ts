import type { Cluster, Redis } from 'ioredis';

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

/** One Redis: a publisher connection (shared with commands) and a subscriber connection. */
export class StandalonePubSub implements PubSub {
  private lost = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
  ) {
    subscriber.on('close', () => (this.lost = true));
  }

  publish(channel: string, message: string): Promise<unknown> {
    return this.publisher.publish(channel, message);
  }
  /**
   * One pipeline: every PUBLISH of a write batch leaves in one socket write (one syscall)
   * instead of one each, which was the largest single cost of a chat send on the sending
   * instance (a loopback write per room of the batch).
   */
  async publishMany(messages: readonly Outgoing[]): Promise<Array<Error | null>> {
    if (messages.length === 1) {
      const { channel, message } = messages[0];
      return this.publisher.publish(channel, message).then(
        () => [null],
        (err: unknown) => [asError(err)],
      );
    }
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
