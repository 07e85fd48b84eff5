-- Fences an item against reservations while its definition changes. Refused (LOCKED) when the
-- item has ever had an order, has one in flight, or is being defined by someone else.
-- The fence is a key with a lease, so a definer that dies does not fence the item for ever.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 fence token, 2 lease (ms)
if redis.call('EXISTS', KEYS[6]) == 0 then return {'NO_EPOCH'} end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'LOCKED', 'is being defined by another request'} end
local item = redis.call('HMGET', KEYS[1], 'stock', 'avail', 'ordered', 'restoring')
if item[4] then return {'REBUILDING'} end
if item[3] then return {'LOCKED', 'has had orders'} end
local creates = 1
if item[1] then
  if item[1] ~= item[2] or redis.call('HLEN', KEYS[2]) > 0 then
    return {'LOCKED', 'has an order in flight'}
  end
  creates = 0
end
redis.call('SET', KEYS[5], ARGV[1], 'PX', ARGV[2])
return {'BEGUN', creates}
