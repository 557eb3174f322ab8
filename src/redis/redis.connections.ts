import { Logger } from '@nestjs/common';
import Redis, { type RedisOptions } from 'ioredis';

/**
 * The service's two Redis connections, or none when REDIS_URL is unset. `command` serves
 * publishes and plain commands; `subscriber` is kept in subscriber mode by the bus.
 */
export class RedisConnections {
  private readonly logger = new Logger('Redis');
  readonly command: Redis | null;
  readonly subscriber: Redis | null;

  constructor(url: string | undefined) {
    if (url === undefined) {
      this.command = null;
      this.subscriber = null;
      return;
    }
    const common: RedisOptions = {
      // Reconnect forever, backing off to 1 s: Redis coming back must heal the service by itself.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      connectTimeout: 3000,
    };
    this.command = new Redis(url, {
      ...common,
      connectionName: 'rt-command',
      // Commands issued in the same tick (a burst of sends, rate-limit checks and publishes)
      // go out in one write: on loopback each write syscall costs more than the command itself.
      enableAutoPipelining: true,
      // Fail fast while disconnected or hung, rather than queueing publishes without bound.
      enableOfflineQueue: false,
      commandTimeout: 2000,
      maxRetriesPerRequest: 1,
    });
    this.subscriber = new Redis(url, {
      ...common,
      connectionName: 'rt-subscriber',
      autoResubscribe: true,
      maxRetriesPerRequest: null,
    });
    this.watch(this.command, 'command');
    this.watch(this.subscriber, 'subscriber');
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.command, this.subscriber].map(async (c) => {
        if (c === null) return;
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
  }

  private watch(client: Redis, name: string): void {
    let lastLog = 0;
    let down = false;
    client.on('error', (err: Error) => {
      const now = Date.now();
      if (now - lastLog > 5000) {
        lastLog = now;
        this.logger.warn(`${name} connection: ${err.message}`);
      }
    });
    client.on('close', () => {
      down = true;
    });
    client.on('ready', () => {
      if (down) this.logger.log(`${name} connection restored`);
      down = false;
    });
  }
}
