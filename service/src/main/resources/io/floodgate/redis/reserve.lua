-- Reserve QTY units of one item for one order, idempotently by KEY, in one atomic step.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 idempotency key, 2 order id, 3 user id, 4 quantity, 5 now (the caller's clock, ms)
-- Answers RESERVED with the item's payment window in ms ('' for none).
-- Checks, in the order of API.md's precedence: the key (replay, reuse, in flight), the item
-- (unknown, being defined or rebuilt), the sale window, the user's limit, the stock.
-- The epoch marker must be there and name this very server (mark_epoch.lua): a promoted replica
-- holds a copy naming its old primary and must not be trusted before it is repaired.
local marker = redis.call('GET', KEYS[6])
if not marker or string.sub(marker, 1, 41) ~= string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') .. ' ' then
  return {'NO_EPOCH'}
end
local key, order_id, user = ARGV[1], ARGV[2], ARGV[3]
local qty, now = tonumber(ARGV[4]), tonumber(ARGV[5])

local entry = redis.call('HGET', KEYS[2], key)
if entry then
  local state, id, q, u = string.match(entry, '^(%a)|([^|]*)|(%d+)|(.*)$')
  if state == 'P' then return {'PENDING', id} end
  if u == user and tonumber(q) == qty then return {'REPLAYED', id} end
  return {'KEY_REUSED', id}
end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'FENCED'} end

local item = redis.call('HMGET', KEYS[1], 'avail', 'limit', 'starts', 'ends', 'restoring', 'terms')
if not item[1] then return {'UNKNOWN_ITEM'} end
if item[5] then return {'REBUILDING'} end
local starts, ends = tonumber(item[3]), tonumber(item[4])
if (starts and now < starts) or (ends and now >= ends) then return {'NOT_ON_SALE'} end

local avail, limit = tonumber(item[1]), tonumber(item[2])
local held = tonumber(redis.call('HGET', KEYS[3], user) or '0')
if held + qty > limit then return {'LIMIT', held, limit} end
if avail < qty then return {'SOLD_OUT', avail} end

redis.call('HSET', KEYS[1], 'avail', avail - qty)
redis.call('HINCRBY', KEYS[3], user, qty)
redis.call('HSET', KEYS[2], key, 'P|' .. order_id .. '|' .. qty .. '|' .. user)
redis.call('ZADD', KEYS[4], now, key)
-- the payment window (the first part of the terms) travels with the reservation: read in the same step
local terms = item[6] or ''
return {'RESERVED', string.match(terms, '^([^|]*)') or ''}
