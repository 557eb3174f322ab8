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
    await l.refund('chat:a', first[0]);
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
    // The other instance is never refused before the limit: with the window otherwise full,
    // Redis takes back the slots leased ahead on the first. With them it may take a few the
    // first used and had not reported yet (at most 250 ms' worth), and the first may use more
    // of them before the bus tells it (a round trip): the user gets past the limit by at most
    // the first's lease (25), and the window's count stays true, every check allowed counted.
    const elsewhere = await untilRefused(limiters[1], 'chat:steady', 100);
    expect(elsewhere).toBeGreaterThanOrEqual(60);
    const here = await untilRefused(limiters[0], 'chat:steady', 100);
    expect(40 + elsewhere + here).toBeLessThanOrEqual(125);
    expect(await counted('chat:steady')).toBe(40 + elsewhere + here);
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

  describe('the window scripts', () => {
    type Scripted = {
      rtRateLeaseMany(...args: Array<string | number>): Promise<Array<number | string>>;
      rtRateSettleMany(...args: Array<string | number>): Promise<number[]>;
    };
    /** A window as another instance's history left it, under a bucket of its own. */
    const window = async (bucket: string, fields: Record<string, string | number>) => {
      const redis = connections[0].command;
      if (redis === null) throw new Error('no Redis');
      const key = windowKey(config.redis.prefix, bucket);
      await redis.hset(key, { w: 'W', ...fields });
      await redis.pexpire(key, 10_000);
      return { key, scripts: redis as unknown as Scripted, hash: () => redis.hgetall(key) };
    };
    /** One ask: wanted, extra, limit 20, window 10 s, lease window, running total; holder A. */
    const ask = (s: Scripted, key: string, wanted: number, leaseFor: string, total: number) =>
      s.rtRateLeaseMany(1, key, wanted, 0, 20, 10_000, leaseFor, total, 'token', 'A');

    it('serve the asker from its own leased slots before refusing it', async () => {
      const { key, scripts, hash } = await window('script:own', { c: 20, 's:A': 3 });
      const out = await ask(scripts, key, 1, 'W', 0);
      expect([out[0], out[2], out[3], out[4]]).toEqual([1, 'W', 2, '']);
      expect(await hash()).toMatchObject({ c: '20', 's:A': '2' });
    });

    it('take slots back from other holders, and say from whom', async () => {
      // C holds nothing (a field left at 0): nothing is taken from it, nor is it told.
      const { key, scripts, hash } = await window('script:others', { c: 20, 's:C': 0, 's:B': 3 });
      const out = await ask(scripts, key, 2, '', 0);
      expect([out[0], out[3], out[4]]).toEqual([2, 0, 'B:2']);
      expect(await hash()).toMatchObject({ c: '20', 's:B': '1' });
    });

    it('count use past what was still held (slots used after they were taken back), once', async () => {
      const { key, scripts, hash } = await window('script:report', { c: 20, 'u:A': 5 });
      expect(await scripts.rtRateSettleMany(1, key, 'W', 7, 0, 'A')).toEqual([0]);
      expect(await hash()).toMatchObject({ c: '22', 'u:A': '7' });
      // The same report again (a retry of one that timed out after it ran) changes nothing.
      expect(await scripts.rtRateSettleMany(1, key, 'W', 7, 0, 'A')).toEqual([0]);
      expect(await hash()).toMatchObject({ c: '22', 'u:A': '7' });
      // Another window's report is not applied here.
      expect(await scripts.rtRateSettleMany(1, key, 'V', 9, 1, 'A')).toEqual([-1]);
      expect((await hash()).c).toBe('22');
    });

    it('give back what is held on release, and what is held for a lease the holder forgot', async () => {
      const released = await window('script:release', { c: 10, 's:A': 4, 'u:A': 2 });
      expect(await released.scripts.rtRateSettleMany(1, released.key, 'W', 3, 1, 'A')).toEqual([0]);
      // One more used (3 against 2 reported), the other 3 back.
      const after = await released.hash();
      expect(after.c).toBe('7');
      expect(after['s:A']).toBe('0');
      // The same release again (resent after a reconnect) frees nothing more.
      expect(await released.scripts.rtRateSettleMany(1, released.key, 'W', 3, 1, 'A')).toEqual([0]);
      expect((await released.hash()).c).toBe('7');
      const forgot = await window('script:forgot', { c: 10, 's:A': 4, 'u:A': 2 });
      const out = await ask(forgot.scripts, forgot.key, 1, '', 0);
      expect([out[0], out[3]]).toEqual([1, 0]);
      expect((await forgot.hash()).c).toBe('7');
    });
  });
});
