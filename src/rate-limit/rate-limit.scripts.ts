/**
 * The shared windows in Redis, one hash per bucket and window, expiring with the window:
 * - `w` the window's id (the token of the ask that created it);
 * - `c` the slots counted against the limit: used, or leased to an instance;
 * - `s:<holder>` the slots leased to one limiter and, as far as Redis knows, not used yet;
 * - `u:<holder>` the running total of leased slots that limiter has reported used (net of
 *   refunds). Reports carry the total, not a difference, so a report that is repeated or that
 *   timed out after it ran counts once.
 * Fixed windows that start at their first ask.
 *
 * A report of more use than Redis still held for the holder means slots were used after another
 * instance took them back: the difference is added to `c`, so the window's count stays true and
 * later grants in it are smaller by as much.
 */

/**
 * What both scripts start with: the holder (the last ARGV), its fields, and the one rule for its
 * running total. `account` returns the window's count and what Redis still holds for the holder
 * once `total` is applied; use past what was held (slots used after another instance took them
 * back) is added to the count.
 */
const HOLDER = `
local holder = ARGV[#ARGV]
local heldField = 's:' .. holder
local usedField = 'u:' .. holder
local function account(c, held, reported, total)
  local mine = held - (total - reported)
  if mine < 0 then return c - mine, 0 end
  return c, mine
end
local out = {}
`;

/**
 * Grants slots for several buckets. KEYS[i]; per key ARGV: wanted (checks waiting now), extra
 * (spare slots to lease ahead), limit, windowMs, the window the holder's lease is for ('' for
 * none), the holder's running total of use in it; then the token naming any window this call
 * creates, and the holder.
 *
 * The waiting checks are served from the holder's own leased slots first, then from free ones,
 * then from slots leased to other holders, which are taken back (they may sit unused: the user
 * moved, or uses two instances), so a user is never refused while slots idle elsewhere. Spare
 * shrinks to half of what is left, so a filling window is not held by one instance. Counts only
 * what it grants: refused checks never extend a lockout.
 * Returns per key: allowed, ttl ms, window id, the holder's leased slots after, and the holders
 * taken from as "holder:slots,...".
 */
export const LEASE_MANY = `${HOLDER}
local token = ARGV[#ARGV - 1]
for i = 1, #KEYS do
  local key = KEYS[i]
  local wanted = tonumber(ARGV[6 * i - 5])
  local extra = tonumber(ARGV[6 * i - 4])
  local limit = tonumber(ARGV[6 * i - 3])
  local window = ARGV[6 * i - 2]
  local leaseFor = ARGV[6 * i - 1]
  local total = tonumber(ARGV[6 * i])
  local cur = redis.call('HMGET', key, 'c', 'w', heldField, usedField)
  local c = tonumber(cur[1] or '0')
  local id = cur[2]
  local mine = tonumber(cur[3] or '0')
  local reported = tonumber(cur[4] or '0')
  local heldBefore, reportedBefore = mine, reported
  local opened = not id
  if opened then
    id = token
    c = 0
    mine = 0
    reported = 0
  elseif id == leaseFor then
    c, mine = account(c, mine, reported, total)
    reported = total
  else
    -- The holder has no lease in this window (it gave one up it could not return): what Redis
    -- still holds for it is free again, and its running total starts over.
    c = c - mine
    mine = 0
    reported = 0
  end
  local fromMine = math.min(wanted, mine)
  mine = mine - fromMine
  local need = wanted - fromMine
  local free = limit - c
  local revoked = {}
  if free < need then
    local fields = redis.call('HGETALL', key)
    for j = 1, #fields, 2 do
      if free >= need then break end
      local f = fields[j]
      if string.sub(f, 1, 2) == 's:' and f ~= heldField then
        local held = tonumber(fields[j + 1])
        local r = math.min(held, need - free)
        if r > 0 then
          redis.call('HSET', key, f, held - r)
          c = c - r
          free = free + r
          revoked[#revoked + 1] = string.sub(f, 3) .. ':' .. r
        end
      end
    end
  end
  if free < 0 then free = 0 end
  local take = math.min(need, free)
  local spare = math.min(extra, math.floor((free - take) / 2))
  c = c + take + spare
  mine = mine + spare
  -- One write, of what changed (zeros stay: the hash dies with the window). A window opened here
  -- gets its expiry after that write (the key exists then) and needs no PTTL. Most of a sparse
  -- sender's checks open a window and lease nothing: HMGET, an HSET of two fields, PEXPIRE.
  local writes = { 'c', c }
  if opened then writes[3] = 'w'; writes[4] = id end
  if mine ~= heldBefore then writes[#writes + 1] = heldField; writes[#writes + 1] = mine end
  if reported ~= reportedBefore then writes[#writes + 1] = usedField; writes[#writes + 1] = reported end
  redis.call('HSET', key, unpack(writes))
  local ttl = tonumber(window)
  if opened then
    redis.call('PEXPIRE', key, window)
  else
    ttl = redis.call('PTTL', key)
    if ttl < 0 then redis.call('PEXPIRE', key, window); ttl = tonumber(window) end
  end
  out[5 * i - 4] = fromMine + take
  out[5 * i - 3] = ttl
  out[5 * i - 2] = id
  out[5 * i - 1] = mine
  out[5 * i] = table.concat(revoked, ',')
end
return out
`;

/**
 * Reports a holder's use of its leases and, with release 1, gives the rest back. KEYS[i]; per key
 * ARGV: window id, the holder's running total of use, release (0/1); then the holder. Only the
 * window the lease came from is touched, so slots of an ended window never enlarge the next one.
 * Returns per key the holder's leased slots after it, or -1 when that window is gone.
 */
export const SETTLE_MANY = `${HOLDER}
for i = 1, #KEYS do
  local key = KEYS[i]
  local cur = redis.call('HMGET', key, 'w', 'c', heldField, usedField)
  if cur[1] ~= ARGV[3 * i - 2] then
    out[i] = -1
  else
    local total = tonumber(ARGV[3 * i - 1])
    local c, mine = account(tonumber(cur[2] or '0'), tonumber(cur[3] or '0'), tonumber(cur[4] or '0'), total)
    if ARGV[3 * i] == '1' then
      c = c - mine
      mine = 0
    end
    -- The total stays as reported even on release, so a release sent twice (a client resending
    -- after a reconnect) frees nothing the second time; a next lease here starts over at 0.
    redis.call('HSET', key, 'c', math.max(0, c), heldField, mine, usedField, total)
    out[i] = mine
  end
end
return out
`;

/**
 * Gives one used slot back to its window (KEYS[1], ARGV[1] the window id), when the instance has
 * no lease there to hold it. A window that has ended is left alone.
 */
export const REFUND_ONE = `
local cur = redis.call('HMGET', KEYS[1], 'w', 'c')
if cur[1] == ARGV[1] then
  local c = tonumber(cur[2] or '0')
  if c > 0 then redis.call('HSET', KEYS[1], 'c', c - 1) end
end
return 0
`;
