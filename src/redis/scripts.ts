import type { RedisClient } from './redis.connections';

/** A Lua script as a Redis command. `numberOfKeys` unset: each call passes the key count first. */
export interface ScriptDefinition {
  lua: string;
  numberOfKeys?: number;
}

/**
 * Defines `scripts` as commands of `redis` and returns it typed with them (`T`: one method per
 * script). ioredis then sends a script's text once per connection and its SHA after (EVALSHA,
 * again as text on NOSCRIPT), rather than the text on every call. On a cluster each call goes to
 * the node that owns its keys' slot, so the keys of one call must share a hash tag. Names are
 * global to the connection: each script has its own (`rt…`).
 */
export function withScripts<T extends object>(
  redis: RedisClient,
  scripts: { readonly [K in keyof T]: ScriptDefinition },
): RedisClient & T {
  for (const [name, definition] of Object.entries<ScriptDefinition>(scripts))
    redis.defineCommand(name, definition);
  return redis as RedisClient & T;
}
