-- Adds DELTA units to stock and available; a negative delta takes available units only.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 delta
if redis.call('EXISTS', KEYS[6]) == 0 then return {'NO_EPOCH'} end
local item = redis.call('HMGET', KEYS[1], 'avail', 'restoring')
if not item[1] then
  if redis.call('EXISTS', KEYS[5]) == 1 then return {'FENCED'} end
  return {'UNKNOWN_ITEM'}
end
if item[2] then return {'REBUILDING'} end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'FENCED'} end
local delta = tonumber(ARGV[1])
if delta < 0 and tonumber(item[1]) + delta < 0 then return {'SOLD_OUT', tonumber(item[1])} end
redis.call('HINCRBY', KEYS[1], 'stock', delta)
redis.call('HINCRBY', KEYS[1], 'avail', delta)
local v = redis.call('HMGET', KEYS[1], 'name', 'stock', 'avail', 'limit', 'starts', 'ends', 'terms')
return {'ITEM', v[1], v[2], v[3], v[4], v[5] or '', v[6] or '', v[7] or ''}
