-- A durable order was cancelled: CONFIRMED (or a PENDING whose confirm is late) becomes
-- CANCELLED, its units go back and its user holds fewer. The key keeps naming the order.
-- Idempotent: the second call finds CANCELLED and changes nothing.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 idempotency key, 2 order id of the cancelled order
if redis.call('EXISTS', KEYS[6]) == 0 then return {'NO_EPOCH'} end
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry then return {'UNKNOWN'} end
local state, id, q, user = string.match(entry, '^(%a)|([^|]*)|(%d+)|(.*)$')
if id ~= ARGV[2] then return {'NOT_OWNER', id} end
if state == 'X' then return {'ALREADY'} end
local qty = tonumber(q)
redis.call('HSET', KEYS[2], ARGV[1], 'X|' .. id .. '|' .. q .. '|' .. user)
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[1], 'ordered', '1')
redis.call('HINCRBY', KEYS[1], 'avail', qty)
if redis.call('HINCRBY', KEYS[3], user, -qty) <= 0 then redis.call('HDEL', KEYS[3], user) end
return {'CANCELLED'}
