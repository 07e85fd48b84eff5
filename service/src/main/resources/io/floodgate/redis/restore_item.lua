-- Rebuild, step 1 for one item: the item stops taking orders while it is made to agree with the
-- order store. An item Redis lost is created from the store's definition; an item Redis still has
-- keeps its state (it may hold reservations the store has not seen yet) and is repaired in step 2:
-- a server that came back behind (a replica promoted by a failover) still has the item, without
-- the last orders. Several rebuilders may run at once: the second joins the restore in progress.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 name, 2 stock, 3 per-user limit, 4 starts (ms or ''), 5 ends (ms or ''), 6 payment terms (or '')
-- Reply: {'RESTORING', 1} for an item Redis had (repair), {'RESTORING', 0} for one it lost.
local v = redis.call('HMGET', KEYS[1], 'name', 'restoring')
if v[1] then
  redis.call('HSET', KEYS[1], 'restoring', '1')
  return {'RESTORING', 1}
end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'stock', ARGV[2], 'avail', ARGV[2], 'limit', ARGV[3], 'restoring', '1')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'starts', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'ends', ARGV[5]) end
if (ARGV[6] or '') ~= '' then redis.call('HSET', KEYS[1], 'terms', ARGV[6]) end
return {'RESTORING', 0}
