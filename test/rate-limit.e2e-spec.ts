import { once } from 'node:events';
import type { AppConfig } from '../src/config/app.config';
import { parseConfig } from '../src/config/config.schema';
import { RedisBus } from '../src/bus/redis.bus';
import { RateLimiter, windowKey } from '../src/rate-limit/rate-limiter';
import { RedisConnections } from '../src/redis/redis.connections';
import { REDIS_URL, TEST_API_KEY, TEST_SECRET } from './helpers/env';
import { uniquePrefix } from './helpers/instance';
import { RedisCluster } from './helpers/redis-cluster';

type Mode = 'one Redis' | 'Redis Cluster';

/** The limiter in process against a real Redis: two limiters stand for two instances. */
describe.each<Mode>(['one Redis', 'Redis Cluster'])('rate limits on %s', (mode) => {
  let cluster: RedisCluster | null = null;
  let connections: RedisConnections[] = [];
  let limiters: RateLimiter[] = [];
  let config: AppConfig;
  let buses: RedisBus[] = [];

  beforeAll(async () => {
    if (mode === 'Redis Cluster') cluster = await RedisCluster.start();
    config = parseConfig({
      ...(cluster === null ? { REDIS_URL } : { REDIS_CLUSTER_NODES: cluster.seeds }),
      REDIS_PREFIX: uniquePrefix('rl'),
      DATABASE_URL: 'postgres://127.0.0.1/unused',
      JWT_SECRET: TEST_SECRET,
      SERVICE_API_KEY: TEST_API_KEY,
    });
    connections = [0, 1, 2].map(() => new RedisConnections(config.redis));
    buses = connections.map((c, i) => {
      if (c.pubsub === null) throw new Error('no Redis');
      return new RedisBus(c.pubsub, config.redis.prefix, `rl-instance-${i}`);
    });
    limiters = connections.map((c, i) => new RateLimiter(c, buses[i], config));
    // Connected first: a check made before then is decided by the instance's own windows.
    await Promise.all(
      connections.map(async (c) => {
        if (c.command !== null && c.command.status !== 'ready') await once(c.command, 'ready');
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all(limiters.map((l) => l.beforeApplicationShutdown()));
    for (const b of buses) b.close();
    await Promise.all(connections.map((c) => c.close()));
    await cluster?.stop();
  });

  it('allows exactly the limit to concurrent checks from two instances, and says when to retry', async () => {
    const decisions = await Promise.all(
      Array.from({ length: 100 }, (_, i) => limiters[i % 2].consume('chat:burst', 30, 10_000)),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(30);
    const refused = decisions.filter((d) => !d.allowed);
    expect(refused).toHaveLength(70);
    for (const d of refused) {
      expect(d.retryAfterMs).toBeGreaterThan(0);
      expect(d.retryAfterMs).toBeLessThanOrEqual(10_000);
    }
    // Decided in Redis, not by each instance's fallback windows: a third one, which has seen
    // nothing, is refused too.
    expect((await limiters[2].consume('chat:burst', 30, 10_000)).allowed).toBe(false);
  });

  it('keeps buckets apart, and a refund gives one slot back', async () => {
    const [l] = limiters;
    const first = await Promise.all([0, 1, 2].map(() => l.consume('chat:a', 2, 10_000)));
    expect(first.map((d) => d.allowed)).toEqual([true, true, false]);
    expect((await l.consume('chat:b', 2, 10_000)).allowed).toBe(true);
    await l.refund('chat:a');
    expect((await l.consume('chat:a', 2, 10_000)).allowed).toBe(true);
    expect((await l.consume('chat:a', 2, 10_000)).allowed).toBe(false);
  });

  it('decides a burst of checks in one script call per shard, not one each', async () => {
    // The limiter's own script calls, counted on its connection (other suites share this Redis).
    const scripted = connections[0].command as unknown as {
      rtRateLeaseMany: (...args: Array<string | number>) => Promise<Array<number | string>>;
    };
    const calls = jest.spyOn(scripted, 'rtRateLeaseMany');
    // 200 users at once, as a burst of sends would be.
    const decisions = await Promise.all(
      Array.from({ length: 200 }, (_, i) => limiters[0].consume(`chat:user${i}`, 5, 10_000)),
    );
    expect(decisions.every((d) => d.allowed)).toBe(true);
    // Checks made in one turn of the event loop go together: one call on one Redis, one per
    // hash-tag shard in use on a cluster (64 tags, so fewer than 200 in any case).
    if (cluster === null) expect(calls).toHaveBeenCalledTimes(1);
    else expect(calls.mock.calls.length).toBeLessThanOrEqual(64);
    calls.mockRestore();
    // Each was counted in Redis (none fell back to the instance's own windows): with a limit of
    // one, a limiter that has seen nothing refuses every one of those users now.
    const again = await Promise.all(
      Array.from({ length: 200 }, (_, i) => limiters[2].consume(`chat:user${i}`, 1, 10_000)),
    );
    expect(again.filter((d) => d.allowed)).toHaveLength(0);
  });

  /** The slots Redis counts as used in a bucket's window (granted, leased or not). */
  const counted = async (bucket: string): Promise<number> => {
    const redis = connections[0].command;
    if (redis === null) throw new Error('no Redis');
    return Number(await redis.hget(windowKey(config.redis.prefix, bucket), 'c'));
  };

  /** Checks on one limiter, one after another, until it refuses; how many it allowed. */
  const untilRefused = async (l: RateLimiter, bucket: string, limit: number): Promise<number> => {
    let allowed = 0;
    while ((await l.consume(bucket, limit, 10_000)).allowed) allowed++;
    return allowed;
  };

  it('serves a user who keeps sending from leased slots, and the limit still holds across instances', async () => {
    const scripted = connections[0].command as unknown as {
      rtRateLeaseMany: (...args: Array<string | number>) => Promise<Array<number | string>>;
    };
    const calls = jest.spyOn(scripted, 'rtRateLeaseMany');
    for (let i = 0; i < 40; i++)
      expect((await limiters[0].consume('chat:steady', 100, 10_000)).allowed).toBe(true);
    // Asked again only when the lease ran out, each time for twice the spare: 7 asks, not 40.
    expect(calls.mock.calls.length).toBeLessThanOrEqual(8);
    calls.mockRestore();
    // The other instance gets the whole rest: with the window otherwise full, Redis takes back
    // the slots leased ahead on the first, which hears of it on the bus before its next check.
    // Taken back with them: the two slots the first used since it last reported (on the ask at
    // the 38th check; reports go every 250 ms), the most a user can get past a limit by.
    const elsewhere = await untilRefused(limiters[1], 'chat:steady', 100);
    expect(elsewhere).toBeGreaterThanOrEqual(60);
    expect(elsewhere).toBeLessThanOrEqual(62);
    expect((await limiters[0].consume('chat:steady', 100, 10_000)).allowed).toBe(false);
    expect(await counted('chat:steady')).toBe(100);
    // Redis counts as used all that it granted, and nothing leased is left anywhere.
  });

  it('gives leased slots left idle back to the window, for the user on another instance', async () => {
    for (let i = 0; i < 10; i++)
      expect((await limiters[0].consume('chat:moved', 20, 10_000)).allowed).toBe(true);
    // Some slots are leased ahead on the first instance...
    expect(await counted('chat:moved')).toBeGreaterThan(10);
    // ...and go back once it has not used them for three seconds (polled: the return is the
    // event).
    const deadline = Date.now() + 8000;
    while ((await counted('chat:moved')) !== 10 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await counted('chat:moved')).toBe(10);
    // The user, now on another instance, has the whole rest of the window.
    expect(await untilRefused(limiters[1], 'chat:moved', 20)).toBe(10);
  });

  it('gives leased slots back at shutdown', async () => {
    const leaving = new RateLimiter(connections[2], buses[2], config);
    for (let i = 0; i < 12; i++)
      expect((await leaving.consume('chat:leaving', 50, 10_000)).allowed).toBe(true);
    expect(await counted('chat:leaving')).toBeGreaterThan(12);
    await leaving.beforeApplicationShutdown();
    expect(await counted('chat:leaving')).toBe(12);
  });

  it('never refuses a user who alternates between instances before the limit, nor after it allows more', async () => {
    const results: boolean[] = [];
    for (let i = 0; i < 24; i++)
      results.push((await limiters[i % 2].consume('chat:alternating', 20, 10_000)).allowed);
    expect(results).toEqual([...Array<boolean>(20).fill(true), ...Array<boolean>(4).fill(false)]);
    expect(await counted('chat:alternating')).toBe(20);
  });
});
