import type { Cluster, Redis } from 'ioredis';

/**
 * Redis pub/sub as the bus uses it, over one Redis or a Redis Cluster. Interest channels (a
 * room's, a user's, a symbol's) are "sharded" on a cluster: SPUBLISH / SSUBSCRIBE, so each lives
 * on the master owning its slot and a message crosses no other node. Control channels are
 * classic pub/sub, which a cluster broadcasts to every node, and so to every instance.
 */
export interface PubSub {
  publish(channel: string, message: string, sharded: boolean): Promise<unknown>;
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
