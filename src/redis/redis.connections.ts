import { Logger } from '@nestjs/common';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import type { AppConfig } from '../config/config.schema';
import { ClusterPubSub, StandalonePubSub, type PubSub } from '../bus/pubsub';

/** A command connection: one Redis, or a cluster client (ioredis' API is the same for both). */
export type RedisClient = Redis | Cluster;

const COMMON: RedisOptions = {
  // Reconnect forever, backing off to 1 s: Redis coming back must heal the service by itself.
  retryStrategy: (times) => Math.min(50 * times, 1000),
  connectTimeout: 3000,
};

/** How often the cluster subscriber re-reads the slot map (a slot moved: re-subscribe within it). */
const SLOTS_REFRESH_MS = 3000;

const COMMAND: RedisOptions = {
  // Fail fast while disconnected or hung, rather than queueing publishes without bound.
  commandTimeout: 2000,
  maxRetriesPerRequest: 1,
};

/**
 * The service's Redis: a command connection (commands, scripts, publishes) and a subscriber
 * the bus keeps in subscriber mode, over REDIS_URL or a Redis Cluster (REDIS_CLUSTER_NODES);
 * none of it when neither is set. This is the one place that knows which.
 */
export class RedisConnections {
  private readonly logger = new Logger('Redis');
  readonly command: RedisClient | null;
  /** The bus's transport over these connections; null without Redis. */
  readonly pubsub: PubSub | null;
  readonly cluster: boolean;
  private readonly clients: RedisClient[] = [];

  constructor(config: AppConfig['redis']) {
    this.cluster = config.clusterNodes !== undefined;
    if (config.clusterNodes !== undefined) {
      const nodes = config.clusterNodes;
      const cluster = (name: string, options: ConstructorParameters<typeof Cluster>[1]): Cluster =>
        new Cluster(nodes, {
          // A failover or a slot move answers MOVED / CLUSTERDOWN for a moment: retry, then
          // refresh the slot map, rather than fail the command.
          retryDelayOnFailover: 200,
          retryDelayOnClusterDown: 300,
          retryDelayOnMoved: 50,
          clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
          slotsRefreshTimeout: 2000,
          ...options,
          redisOptions: { ...COMMON, connectionName: `rt-${name}`, ...options?.redisOptions },
        });
      // No auto-pipelining, as on one Redis (below). It would also group the batched
      // rate-limit script by its first argument, the key count, and mix slots in a pipeline.
      // Fail fast without a reachable cluster, as on one Redis: the cluster client would
      // otherwise queue every command until it reconnects, and nothing would ever fall back.
      const command = cluster('command', { enableOfflineQueue: false, redisOptions: COMMAND });
      // Sharded subscribers: one connection per master, each SSUBSCRIBE sent to the master that
      // owns the channel's slot, re-made by ioredis when the topology changes. A moved slot
      // ends its subscriptions on the old owner without an error anyone sees, so the slot map
      // is re-read every few seconds: a change re-subscribes the channels where they now live.
      const subscriber = cluster('subscriber', {
        shardedSubscribers: true,
        slotsRefreshInterval: SLOTS_REFRESH_MS,
      });
      this.command = command;
      this.pubsub = new ClusterPubSub(command, subscriber);
      this.clients.push(command, subscriber);
      this.watch(command, 'command');
      this.watch(subscriber, 'subscriber');
      return;
    }
    if (config.url === undefined) {
      this.command = null;
      this.pubsub = null;
      return;
    }
    const command = new Redis(config.url, {
      ...COMMON,
      ...COMMAND,
      connectionName: 'rt-command',
      // No auto-pipelining: it defers every command to a later turn of the event loop, and in
      // the chat bench that deferral was the latency tail. Measured (two rounds each, 5 s
      // steps): with it the service held 1,000 msg/s; without it, 3,000 msg/s under a 50 ms
      // p99, for about 0.07 ms more Redis CPU per message at 1,000/s. What it batched is
      // batched where it matters anyway: rate-limit checks per round trip, publishes per commit.
      enableOfflineQueue: false,
    });
    const subscriber = new Redis(config.url, {
      ...COMMON,
      connectionName: 'rt-subscriber',
      autoResubscribe: true,
      maxRetriesPerRequest: null,
    });
    this.command = command;
    this.pubsub = new StandalonePubSub(command, subscriber);
    this.clients.push(command, subscriber);
    this.watch(command, 'command');
    this.watch(subscriber, 'subscriber');
  }

  async close(): Promise<void> {
    await Promise.all(
      this.clients.map(async (c) => {
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
  }

  private watch(client: RedisClient, name: string): void {
    let lastLog = 0;
    let down = false;
    const warn = (what: string): void => {
      const now = Date.now();
      if (now - lastLog > 5000) {
        lastLog = now;
        this.logger.warn(`${name} connection: ${what}`);
      }
    };
    client.on('error', (err: Error) => warn(err.message));
    // A cluster client reports a node's errors separately; they are not the client's own failure.
    client.on('node error', (err: Error, node: string) => warn(`node ${node}: ${err.message}`));
    client.on('close', () => {
      down = true;
    });
    client.on('ready', () => {
      if (down) this.logger.log(`${name} connection restored`);
      down = false;
    });
  }
}
