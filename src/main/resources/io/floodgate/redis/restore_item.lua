-- Rebuild, step 1 for one item: begins restoring it from the order store unless Redis still has
-- it (then it is INTACT and Redis's state wins: it may hold reservations the store has not seen).
-- Several rebuilders may run at once: the second joins the restore in progress.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 name, 2 stock, 3 per-user limit, 4 starts (ms or ''), 5 ends (ms or '')
local v = redis.call('HMGET', KEYS[1], 'name', 'restoring')
if v[1] and not v[2] then return {'INTACT'} end
if not v[1] then
  redis.call('HSET', KEYS[1], 'name', ARGV[1], 'stock', ARGV[2], 'avail', ARGV[2], 'limit', ARGV[3], 'restoring', '1')
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'starts', ARGV[4]) end
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'ends', ARGV[5]) end
end
return {'RESTORING'}
