-- The reservation's order is durable: PENDING becomes CONFIRMED, the key is spent for good and
-- the item can no longer be redefined. Idempotent.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 idempotency key, 2 order id of the reservation ('' when the caller does not know it)
if redis.call('EXISTS', KEYS[6]) == 0 then return {'NO_EPOCH'} end
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry then return {'UNKNOWN'} end
local state, id, rest = string.match(entry, '^(%a)|([^|]*)|(.*)$')
if ARGV[2] ~= '' and id ~= ARGV[2] then return {'NOT_OWNER', id} end
redis.call('HSET', KEYS[1], 'ordered', '1')
if state ~= 'P' then return {'ALREADY', state} end
redis.call('HSET', KEYS[2], ARGV[1], 'C|' .. id .. '|' .. rest)
redis.call('ZREM', KEYS[4], ARGV[1])
return {'CONFIRMED'}
