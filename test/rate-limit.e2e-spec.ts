import { once } from 'node:events';
import { parseConfig } from '../src/config/config.schema';
import { RateLimiter } from '../src/rate-limit/rate-limiter';
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

  beforeAll(async () => {
    if (mode === 'Redis Cluster') cluster = await RedisCluster.start();
    const config = parseConfig({
      ...(cluster === null ? { REDIS_URL } : { REDIS_CLUSTER_NODES: cluster.seeds }),
      REDIS_PREFIX: uniquePrefix('rl'),
      DATABASE_URL: 'postgres://127.0.0.1/unused',
      JWT_SECRET: TEST_SECRET,
      SERVICE_API_KEY: TEST_API_KEY,
    });
    connections = [0, 1, 2].map(() => new RedisConnections(config.redis));
    limiters = connections.map((c) => new RateLimiter(c, config));
    // Connected first: a check made before then is decided by the instance's own windows.
    await Promise.all(
      connections.map(async (c) => {
        if (c.command !== null && c.command.status !== 'ready') await once(c.command, 'ready');
      }),
    );
  }, 60_000);

  afterAll(async () => {
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
      rtRateConsumeMany: (...args: Array<string | number>) => Promise<number[]>;
    };
    const calls = jest.spyOn(scripted, 'rtRateConsumeMany');
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
});
