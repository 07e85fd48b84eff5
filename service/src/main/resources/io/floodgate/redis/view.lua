-- Reads one item. Read-only.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
if redis.call('EXISTS', KEYS[6]) == 0 then return {'NO_EPOCH'} end
local v = redis.call('HMGET', KEYS[1], 'name', 'stock', 'avail', 'limit', 'starts', 'ends', 'restoring', 'terms')
if not v[1] then return {'UNKNOWN_ITEM'} end
if v[7] then return {'REBUILDING'} end
return {'ITEM', v[1], v[2], v[3], v[4], v[5] or '', v[6] or '', v[8] or ''}
