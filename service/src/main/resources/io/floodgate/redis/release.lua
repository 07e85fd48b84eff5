-- The reservation's order will never be durable: its units, the user's count and the key are
-- freed. Only a PENDING reservation is released, and only the given order's. Idempotent.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 idempotency key, 2 order id of the reservation ('' when the caller does not know it)
if redis.call('EXISTS', KEYS[6]) == 0 then return {'NO_EPOCH'} end
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry then return {'UNKNOWN'} end
local state, id, q, user = string.match(entry, '^(%a)|([^|]*)|(%d+)|(.*)$')
if state ~= 'P' then return {'NOT_PENDING', state} end
if ARGV[2] ~= '' and id ~= ARGV[2] then return {'NOT_OWNER', id} end
local qty = tonumber(q)
redis.call('HINCRBY', KEYS[1], 'avail', qty)
if redis.call('HINCRBY', KEYS[3], user, -qty) <= 0 then redis.call('HDEL', KEYS[3], user) end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return {'RELEASED'}
