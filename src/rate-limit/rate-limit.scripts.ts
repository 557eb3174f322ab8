/**
 * The shared windows in Redis, one hash per bucket and window, expiring with the window: `w` the
 * window's id (the token of the ask that created it), `c` the slots granted in it (used, or
 * leased to an instance), `s:<holder>` the slots leased to one limiter that it has not yet
 * reported used. Fixed windows that start at their first ask.
 */

/**
 * Grants slots for several buckets. KEYS[i]; per key ARGV: wanted (checks waiting now), extra
 * (spare slots to lease ahead), limit, windowMs, the window the holder's report is for, used (the
 * holder's leased slots used since its last report); then the token naming any window this call
 * creates, and the holder.
 *
 * Spare shrinks to half of what is left, so a filling window is not held by one instance. When
 * the free slots do not cover the waiting checks, slots leased to other holders are taken back
 * (they may be unused: the user moved), so a user is never refused while slots sit idle
 * elsewhere. Counts only what it grants: refused checks never extend a lockout.
 * Returns per key: granted, ttl ms, window id, the holder's leased slots, the window's count,
 * revoked holders (csv).
 */
export const LEASE_MANY = `
local token = ARGV[#ARGV - 1]
local mineField = 's:' .. ARGV[#ARGV]
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local wanted = tonumber(ARGV[6 * i - 5])
  local extra = tonumber(ARGV[6 * i - 4])
  local limit = tonumber(ARGV[6 * i - 3])
  local window = ARGV[6 * i - 2]
  local reportFor = ARGV[6 * i - 1]
  local used = tonumber(ARGV[6 * i])
  local cur = redis.call('HMGET', key, 'c', 'w', mineField)
  local c = tonumber(cur[1] or '0')
  local id = cur[2]
  local mine = tonumber(cur[3] or '0')
  local before = mine
  if not id then
    id = token
    c = 0
    mine = 0
    redis.call('HSET', key, 'w', id)
    redis.call('PEXPIRE', key, window)
  elseif id == reportFor then
    mine = math.max(0, mine - used)
  end
  local free = limit - c
  local revoked = {}
  if free < wanted then
    local fields = redis.call('HGETALL', key)
    for j = 1, #fields, 2 do
      if free >= wanted then break end
      local f = fields[j]
      if string.sub(f, 1, 2) == 's:' and f ~= mineField then
        local held = tonumber(fields[j + 1])
        local r = math.min(held, wanted - free)
        if r == held then redis.call('HDEL', key, f) else redis.call('HSET', key, f, held - r) end
        c = c - r
        free = free + r
        revoked[#revoked + 1] = string.sub(f, 3)
      end
    end
  end
  if free < 0 then free = 0 end
  local take = math.min(wanted, free)
  local spare = math.min(extra, math.floor((free - take) / 2))
  c = c + take + spare
  mine = mine + spare
  redis.call('HSET', key, 'c', c)
  if mine > 0 then
    if mine ~= before then redis.call('HSET', key, mineField, mine) end
  elseif before > 0 then
    redis.call('HDEL', key, mineField)
  end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, window); ttl = tonumber(window) end
  out[6 * i - 5] = take + spare
  out[6 * i - 4] = ttl
  out[6 * i - 3] = id
  out[6 * i - 2] = mine
  out[6 * i - 1] = c
  out[6 * i] = table.concat(revoked, ',')
end
return out
`;

/**
 * Reports a holder's use of its leases and, with release 1, gives the rest back. KEYS[i]; per key
 * ARGV: window id, used, release (0/1); then the holder. Only the window the lease came from is
 * touched, so slots of an ended window never enlarge the next one. Returns per key the holder's
 * leased slots after it, or -1 when that window is gone.
 */
export const SETTLE_MANY = `
local mineField = 's:' .. ARGV[#ARGV]
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local cur = redis.call('HMGET', key, 'w', 'c', mineField)
  if cur[1] ~= ARGV[3 * i - 2] then
    out[i] = -1
  else
    local mine = math.max(0, tonumber(cur[3] or '0') - tonumber(ARGV[3 * i - 1]))
    if ARGV[3 * i] == '1' then
      redis.call('HSET', key, 'c', math.max(0, tonumber(cur[2] or '0') - mine))
      mine = 0
    end
    if mine > 0 then redis.call('HSET', key, mineField, mine) else redis.call('HDEL', key, mineField) end
    out[i] = mine
  end
end
return out
`;

/** Gives one used slot back to whichever window is live (KEYS[1]): a refund with no lease. */
export const REFUND_ONE = `
local c = tonumber(redis.call('HGET', KEYS[1], 'c') or '0')
if c > 0 then redis.call('HSET', KEYS[1], 'c', c - 1) end
return 0
`;
