import type { RedisClient } from '../../redis/redis.connections';
import { withScripts } from '../../redis/scripts';
import { PresenceStore } from './presence.store';

/** How long an instance's claim on a user lasts without a refresh. */
export const PRESENCE_TTL_MS = 20_000;

// Keys: <p>{presence}:u:<userId> is a sorted set of instance ids scored by expiry (ms);
// <p>{presence}:exp is a sorted set of "<userId>|<instanceId>" scored by expiry, which lets any
// instance find and clear the users of an instance that died. User keys outlive their last
// claim by a minute, so a sweeper still finds what it must report; then Redis drops them.
// The {presence} hash tag puts every presence key in one slot: the scripts touch a user's key
// and the expiry set together, and refresh and sweep reach many users' keys in one call, which a
// Redis Cluster allows only within a slot. (One slot is one master's work; docs/scaling.md.)
const CONNECT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local before = redis.call('ZCARD', KEYS[1])
local mine = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2] + 60000)
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4] .. '|' .. ARGV[1])
if before == 0 or (before == 1 and mine) then return 1 end
return 0
`;

const DISCONNECT = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[3] .. '|' .. ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0
`;

// ARGV: instance, expiresAt, prefix, userId... Extends this instance's live claims only (XX: a
// claim that is gone is not re-added here, where it could race a departure) and returns the
// users whose claim had lapsed (expired while Redis was unreachable, or swept), for the caller
// to claim again through CONNECT, in order with that user's arrivals and departures.
const REFRESH = `
local lapsed = {}
for i = 4, #ARGV do
  local key = ARGV[3] .. '{presence}:u:' .. ARGV[i]
  if redis.call('ZSCORE', key, ARGV[1]) then
    redis.call('ZADD', key, 'XX', ARGV[2], ARGV[1])
    redis.call('PEXPIREAT', key, ARGV[2] + 60000)
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i] .. '|' .. ARGV[1])
  else
    table.insert(lapsed, ARGV[i])
  end
end
return lapsed
`;

// Claims expired entries atomically, so exactly one instance reports each user going offline.
const SWEEP = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local offline = {}
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  local sep = string.find(member, '|', 1, true)
  if sep then
    local user = string.sub(member, 1, sep - 1)
    local inst = string.sub(member, sep + 1)
    local key = ARGV[2] .. '{presence}:u:' .. user
    local score = redis.call('ZSCORE', key, inst)
    local removed = 0
    if score and tonumber(score) <= tonumber(ARGV[1]) then removed = redis.call('ZREM', key, inst) end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
    if removed == 1 and redis.call('ZCARD', key) == 0 then table.insert(offline, user) end
  end
end
return offline
`;

/** The scripts as commands (`withScripts`): KEYS first, then ARGV, as described above. */
interface PresenceCommands {
  rtPresenceConnect(...args: Array<string | number>): Promise<number>;
  rtPresenceDisconnect(...args: Array<string | number>): Promise<number>;
  rtPresenceRefresh(...args: Array<string | number>): Promise<unknown>;
  rtPresenceSweep(...args: Array<string | number>): Promise<unknown>;
}

export class RedisPresenceStore extends PresenceStore {
  private readonly redis: RedisClient & PresenceCommands;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly instanceId: string,
    private readonly ttlMs = PRESENCE_TTL_MS,
  ) {
    super();
    this.redis = withScripts<PresenceCommands>(redis, {
      rtPresenceConnect: { numberOfKeys: 2, lua: CONNECT },
      rtPresenceDisconnect: { numberOfKeys: 2, lua: DISCONNECT },
      rtPresenceRefresh: { numberOfKeys: 1, lua: REFRESH },
      rtPresenceSweep: { numberOfKeys: 1, lua: SWEEP },
    });
  }

  async connect(userId: string): Promise<boolean> {
    const now = Date.now();
    const result = await this.redis.rtPresenceConnect(
      this.userKey(userId),
      this.expKey(),
      this.instanceId,
      now + this.ttlMs,
      now,
      userId,
    );
    return result === 1;
  }

  async disconnect(userId: string): Promise<boolean> {
    const result = await this.redis.rtPresenceDisconnect(
      this.userKey(userId),
      this.expKey(),
      this.instanceId,
      Date.now(),
      userId,
    );
    return result === 1;
  }

  async refresh(userIds: string[]): Promise<string[]> {
    const expiresAt = Date.now() + this.ttlMs;
    const restored: string[] = [];
    for (let i = 0; i < userIds.length; i += 500) {
      const batch = userIds.slice(i, i + 500);
      const result = await this.redis.rtPresenceRefresh(
        this.expKey(),
        this.instanceId,
        expiresAt,
        this.prefix,
        ...batch,
      );
      if (Array.isArray(result)) restored.push(...result.map(String));
    }
    return restored;
  }

  async online(userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const now = Date.now();
    const pipeline = this.redis.pipeline();
    for (const userId of userIds) pipeline.zcount(this.userKey(userId), `(${now}`, '+inf');
    const results = (await pipeline.exec()) ?? [];
    const online = new Set<string>();
    results.forEach(([err, count], i) => {
      if (err === null && typeof count === 'number' && count > 0) online.add(userIds[i]);
    });
    return online;
  }

  async sweep(): Promise<string[]> {
    const result = await this.redis.rtPresenceSweep(this.expKey(), Date.now(), this.prefix, 1000);
    return Array.isArray(result) ? result.map(String) : [];
  }

  private userKey(userId: string): string {
    return `${this.prefix}{presence}:u:${userId}`;
  }

  private expKey(): string {
    return `${this.prefix}{presence}:exp`;
  }
}
