/**
 * The consumer-group script: leases, checkpoints and membership of one group, in three keys that share
 * the group's hash tag (one cluster slot): `{<prefix>:group:<name>}:leases` (a hash: shard → JSON
 * `{m: member, t: token, e: expiry ms}`), `…:checkpoints` (a hash: shard → entry id) and `…:members` (a
 * sorted set: member → expiry ms). Expiry is judged by the server's clock (`TIME`), so members on
 * different machines need no synchronised clocks; it is the wall clock (scripts have no monotonic
 * one, and key expiry is wall-clock too), so a step of it moves every expiry (see the README's
 * clock assumption). Each operation is one atomic script call:
 *
 * - `acquire shard member token ttl`: compare-and-set; takes a free or expired lease, renews its own.
 * - `renew shard token ttl`, `release shard token [id]`: only by the holder's token; a release with
 *   an id moves the checkpoint first, as `checkpoint` does.
 * - `checkpoint shard token id`: only by the holder's token, and only forward, with the rules of
 *   core's `compareIds` (Redis ids `ms-seq` by ms then seq, decimal ids by value, others as strings).
 * - `leases`: the live leases, as a flat list shard, member, … (expired ones are deleted).
 * - `heartbeat member ttl`, `leave member`, `members`: the live members (expired ones are removed).
 *
 * A member joining, leaving or expiring and a lease taken, released or expired is published on the
 * group's channel `{<prefix>:group:<name>}:changes` (the fourth key, for its hash tag; the message is
 * the operation), for the coordinator's `watch`. Renewals, heartbeats and checkpoints publish nothing.
 *
 * Replies: 1 (done / held), 0 (refused: the lease is someone else's or gone), or the lists above.
 */
export const GROUP_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]

local function changed()
  redis.call('PUBLISH', KEYS[4], op)
end

local function live(shard)
  local raw = redis.call('HGET', KEYS[1], shard)
  if not raw then return nil end
  local lease = cjson.decode(raw)
  if lease.e <= now then
    redis.call('HDEL', KEYS[1], shard)
    changed()
    return nil
  end
  return lease
end

local function dec(a, b)
  a = (string.gsub(a, '^0+(%d)', '%1'))
  b = (string.gsub(b, '^0+(%d)', '%1'))
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end

local function compare(a, b)
  local am, as = string.match(a, '^(%d+)%-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)%-(%d+)$')
  if am and bm then
    local c = dec(am, bm)
    if c ~= 0 then return c end
    return dec(as, bs)
  end
  if string.match(a, '^%d+$') and string.match(b, '^%d+$') then return dec(a, b) end
  if a == b then return 0 end
  return a < b and -1 or 1
end

local function advance(shard, id)
  local current = redis.call('HGET', KEYS[2], shard)
  if not current or compare(id, current) > 0 then redis.call('HSET', KEYS[2], shard, id) end
end

if op == 'acquire' then
  local lease = live(ARGV[2])
  if lease and lease.t ~= ARGV[4] then return 0 end
  redis.call('HSET', KEYS[1], ARGV[2], cjson.encode({m = ARGV[3], t = ARGV[4], e = now + tonumber(ARGV[5])}))
  if not lease then changed() end
  return 1
elseif op == 'renew' then
  local lease = live(ARGV[2])
  if not lease or lease.t ~= ARGV[3] then return 0 end
  lease.e = now + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(lease))
  return 1
elseif op == 'release' then
  local lease = live(ARGV[2])
  if lease and lease.t == ARGV[3] then
    if ARGV[4] then advance(ARGV[2], ARGV[4]) end
    redis.call('HDEL', KEYS[1], ARGV[2])
    changed()
  end
  return 1
elseif op == 'checkpoint' then
  local lease = live(ARGV[2])
  if not lease or lease.t ~= ARGV[3] then return 0 end
  advance(ARGV[2], ARGV[4])
  return 1
elseif op == 'leases' then
  local out = {}
  local expired = false
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local lease = cjson.decode(all[i + 1])
    if lease.e > now then
      out[#out + 1] = all[i]
      out[#out + 1] = lease.m
    else
      redis.call('HDEL', KEYS[1], all[i])
      expired = true
    end
  end
  if expired then changed() end
  return out
elseif op == 'heartbeat' then
  local before = redis.call('ZSCORE', KEYS[3], ARGV[2])
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[2])
  if not before or tonumber(before) <= now then changed() end
  return 1
elseif op == 'leave' then
  if redis.call('ZREM', KEYS[3], ARGV[2]) == 1 then changed() end
  return 1
elseif op == 'members' then
  if redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) > 0 then changed() end
  return redis.call('ZRANGE', KEYS[3], 0, -1)
end
return redis.error_reply('ERR netmesh group script: unknown operation ' .. tostring(op))
`;
