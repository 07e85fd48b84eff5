-- Rebuild, step 3: the item takes orders again (once the epoch marker of its slot is written).
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
if redis.call('EXISTS', KEYS[1]) == 0 then return {'GONE'} end
redis.call('HDEL', KEYS[1], 'restoring')
return {'READY', tonumber(redis.call('HGET', KEYS[1], 'avail') or '0')}
