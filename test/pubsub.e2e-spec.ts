import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { parseConfig } from '../src/config/config.schema';
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

  it('answers each message with an error, never rejecting, when Redis cannot take them', async () => {
    const down = await connect();
    await down.close();
    const outcome = await down.pubsub?.publishMany([
      { channel: `${prefix}rt:room:{x}`, message: 'a', sharded: true },
      { channel: `${prefix}rt:room:{y}`, message: 'b', sharded: true },
    ]);
    expect(outcome).toHaveLength(2);
    for (const err of outcome ?? []) expect(err).toBeInstanceOf(Error);
  });
});
