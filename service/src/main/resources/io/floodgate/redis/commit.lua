-- Installs an item definition with available = stock and lifts the fence. If the fence lapsed
-- (its lease ran out), the definition is still installed when nothing was reserved meanwhile.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 fence token, 2 name, 3 stock, 4 per-user limit, 5 starts (ms or ''), 6 ends (ms or ''),
--       7 payment terms ('<window ms>|<price minor>|<currency>', or '' for none)
if redis.call('EXISTS', KEYS[6]) == 0 then return {'NO_EPOCH'} end
local fence = redis.call('GET', KEYS[5])
if fence ~= ARGV[1] then
  if fence then return {'LOCKED', 'is being defined by another request'} end
  local item = redis.call('HMGET', KEYS[1], 'stock', 'avail', 'ordered')
  if item[3] or item[1] ~= item[2] or redis.call('HLEN', KEYS[2]) > 0 then
    return {'LOCKED', 'took orders after its definition lease ran out'}
  end
end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'stock', ARGV[3], 'avail', ARGV[3], 'limit', ARGV[4])
if ARGV[5] == '' then redis.call('HDEL', KEYS[1], 'starts') else redis.call('HSET', KEYS[1], 'starts', ARGV[5]) end
if ARGV[6] == '' then redis.call('HDEL', KEYS[1], 'ends') else redis.call('HSET', KEYS[1], 'ends', ARGV[6]) end
if (ARGV[7] or '') == '' then redis.call('HDEL', KEYS[1], 'terms') else redis.call('HSET', KEYS[1], 'terms', ARGV[7]) end
redis.call('DEL', KEYS[5])
return {'COMMITTED'}
