import Redis from 'ioredis';
import { RedisPresenceStore } from '../src/chat/presence/redis-presence.store';
import { REDIS_URL } from './helpers/env';
import { uniquePrefix } from './helpers/instance';
import { waitUntil } from './helpers/wait';

/** The Redis presence store against the real Redis, with a short TTL. */
describe('RedisPresenceStore', () => {
  let redis: Redis;
  let prefix: string;

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    prefix = uniquePrefix('presence');
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('reports the first arrival and the last departure across instances', async () => {
    const x = new RedisPresenceStore(redis, prefix, 'x', 60_000);
    const y = new RedisPresenceStore(redis, prefix, 'y', 60_000);
    expect(await x.connect('u1')).toBe(true);
    expect(await y.connect('u1')).toBe(false);
    expect(await x.online(['u1', 'u2'])).toEqual(new Set(['u1']));
    expect(await x.disconnect('u1')).toBe(false);
    expect(await y.disconnect('u1')).toBe(true);
    expect(await x.online(['u1'])).toEqual(new Set());
  });

  it('lets a live instance sweep the users of one that stopped refreshing, exactly once', async () => {
    const dead = new RedisPresenceStore(redis, prefix, 'dead', 200);
    const live1 = new RedisPresenceStore(redis, prefix, 'live1', 60_000);
    const live2 = new RedisPresenceStore(redis, prefix, 'live2', 60_000);
    expect(await dead.connect('u3')).toBe(true);
    expect(await dead.connect('u4')).toBe(true);
    expect(await live1.connect('u4')).toBe(false); // u4 is also on a live instance
    expect(await live1.sweep()).toEqual([]);
    await new Promise((r) => setTimeout(r, 300)); // let the dead instance's claims lapse
    const swept = [...(await live1.sweep()), ...(await live2.sweep())];
    expect(swept).toEqual(['u3']);
    expect(await live2.online(['u3', 'u4'])).toEqual(new Set(['u4']));
  });

  it('reports a claim that was swept while its instance could not refresh it, without re-adding it', async () => {
    const x = new RedisPresenceStore(redis, prefix, 'x2', 100);
    const other = new RedisPresenceStore(redis, prefix, 'other', 60_000);
    await x.connect('u5');
    await new Promise((r) => setTimeout(r, 150));
    expect(await x.refresh([])).toEqual([]);
    expect(await other.sweep()).toEqual(['u5']);
    expect(await x.refresh(['u5'])).toEqual(['u5']);
    // Not re-added by the refresh (that could undo a departure racing it)...
    expect(await other.online(['u5'])).toEqual(new Set());
    expect(await x.refresh(['u5'])).toEqual(['u5']);
    // ...but by claiming again, which says the user is back online.
    expect(await x.connect('u5')).toBe(true);
    expect(await x.refresh(['u5'])).toEqual([]);
  });

  it('sends its scripts by SHA (EVALSHA) once a connection has them, not their text per call', async () => {
    const monitor = await redis.monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      const command = args[0].toLowerCase();
      // MONITOR also shows the commands a script runs; only the calls themselves count here.
      if (command.startsWith('eval') && args.some((a) => a.startsWith(prefix))) sent.push(command);
    });
    const store = new RedisPresenceStore(redis, prefix, 'sha', 60_000);
    await store.connect('u6');
    await store.connect('u6');
    await store.disconnect('u6');
    await store.disconnect('u6');
    await waitUntil(() => sent.length >= 4, 5000, 'four script calls seen by MONITOR');
    monitor.disconnect();
    // The first call of each script on a connection carries its text; later ones its SHA.
    expect(sent).toEqual(['eval', 'evalsha', 'eval', 'evalsha']);
  });
});
