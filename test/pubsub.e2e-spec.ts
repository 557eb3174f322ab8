import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { parseConfig } from '../src/config/config.schema';
import { SCRIPT_PUBLISH_FROM, SCRIPT_PUBLISH_MAX, type PublishCommands } from '../src/bus/pubsub';
import { RedisConnections } from '../src/redis/redis.connections';
import { REDIS_URL, TEST_API_KEY, TEST_SECRET } from './helpers/env';
import { uniquePrefix } from './helpers/instance';

/** The bus's publishes on one Redis (StandalonePubSub), against the real server. */
describe('publishing several messages at once on one Redis', () => {
  const prefix = uniquePrefix('pubsub');
  let publisher: RedisConnections;
  let listener: RedisConnections;

  const connect = async (): Promise<RedisConnections> => {
    const c = new RedisConnections(
      parseConfig({
        REDIS_URL,
        REDIS_PREFIX: prefix,
        DATABASE_URL: 'postgres://127.0.0.1/unused',
        JWT_SECRET: TEST_SECRET,
        SERVICE_API_KEY: TEST_API_KEY,
      }).redis,
    );
    if (c.command !== null && c.command.status !== 'ready') await once(c.command, 'ready');
    return c;
  };

  beforeAll(async () => {
    [publisher, listener] = [await connect(), await connect()];
  });
  afterAll(async () => {
    await publisher?.close();
    await listener?.close();
  });

  it('sends them as one pipeline, delivered in order on their channels, each answered null', async () => {
    const channels = [0, 1, 2, 3, 4].map((i) => `${prefix}rt:room:{r${i}}`);
    const received: Array<[string, string]> = [];
    const allIn = new Promise<void>((resolve) =>
      listener.pubsub?.onMessage((channel, message) => {
        received.push([channel, message]);
        if (received.length === 6) resolve();
      }),
    );
    for (const c of channels) await listener.pubsub?.subscribe(c, true);
    const pipelines = jest.spyOn(publisher.command as Redis, 'pipeline');
    const outgoing = [...channels, channels[0]].map((channel, i) => ({
      channel,
      message: `m${i}`,
      sharded: true,
    }));
    expect(await publisher.pubsub?.publishMany(outgoing)).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(pipelines).toHaveBeenCalledTimes(1);
    pipelines.mockRestore();
    await allIn;
    expect(received).toEqual(outgoing.map((o) => [o.channel, o.message]));
  });

  it('sends a fan-out as script calls of at most SCRIPT_PUBLISH_MAX messages, in order, each answered null', async () => {
    const count = 2 * SCRIPT_PUBLISH_MAX + 7;
    const channels = Array.from({ length: 40 }, (_, i) => `${prefix}rt:user:{u${i}}`);
    const outgoing = Array.from({ length: count }, (_, i) => ({
      channel: channels[i % channels.length],
      message: `fan-${i}`,
      sharded: true,
    }));
    const received: Array<[string, string]> = [];
    const allIn = new Promise<void>((resolve) =>
      listener.pubsub?.onMessage((channel, message) => {
        if (!message.startsWith('fan-')) return;
        received.push([channel, message]);
        if (received.length === count) resolve();
      }),
    );
    for (const c of channels) await listener.pubsub?.subscribe(c, true);
    const command = publisher.command as Redis & PublishCommands;
    const pipelines = jest.spyOn(command, 'pipeline');
    const scripts = jest.spyOn(command, 'rtPublishAll');
    expect(await publisher.pubsub?.publishMany(outgoing)).toEqual(outgoing.map(() => null));
    expect(pipelines).not.toHaveBeenCalled();
    expect(scripts).toHaveBeenCalledTimes(3);
    expect(scripts.mock.calls.map((args) => args.length)).toEqual([2000, 2000, 14]);
    pipelines.mockRestore();
    scripts.mockRestore();
    await allIn;
    expect(received).toEqual(outgoing.map((o) => [o.channel, o.message]));
  });

  it('still publishes by script after Redis forgot the script (SCRIPT FLUSH)', async () => {
    const channel = `${prefix}rt:user:{flushed}`;
    // Two script-sized publishes: the first makes ioredis know the script (it sends only the SHA
    // after that), the second comes after Redis was told to forget it.
    const outgoing = Array.from({ length: 2 * SCRIPT_PUBLISH_FROM }, (_, i) => ({
      channel,
      message: `again-${i}`,
      sharded: true,
    }));
    const [first, second] = [
      outgoing.slice(0, SCRIPT_PUBLISH_FROM),
      outgoing.slice(SCRIPT_PUBLISH_FROM),
    ];
    const received: string[] = [];
    const allIn = new Promise<void>((resolve) =>
      listener.pubsub?.onMessage((c, message) => {
        if (c !== channel) return;
        received.push(message);
        if (received.length === outgoing.length) resolve();
      }),
    );
    await listener.pubsub?.subscribe(channel, true);
    const scripts = jest.spyOn(publisher.command as Redis & PublishCommands, 'rtPublishAll');
    expect(await publisher.pubsub?.publishMany(first)).toEqual(first.map(() => null));
    await publisher.command?.script('FLUSH');
    expect(await publisher.pubsub?.publishMany(second)).toEqual(second.map(() => null));
    expect(scripts).toHaveBeenCalledTimes(2);
    scripts.mockRestore();
    await allIn;
    expect(received).toEqual(outgoing.map((o) => o.message));
  });

  it.each([2, SCRIPT_PUBLISH_FROM + 1])(
    'answers each of %i messages with an error, never rejecting, when Redis cannot take them',
    async (count) => {
      const down = await connect();
      await down.close();
      const outcome = await down.pubsub?.publishMany(
        Array.from({ length: count }, (_, i) => ({
          channel: `${prefix}rt:room:{x${i}}`,
          message: 'a',
          sharded: true,
        })),
      );
      expect(outcome).toHaveLength(count);
      for (const err of outcome ?? []) expect(err).toBeInstanceOf(Error);
    },
  );
});
