-- What a local sold-out marker needs to answer exactly without Redis: taken only while the item
-- has nothing available. Returns the keys that exist (their requests must still come to Redis:
-- replay, reuse, in flight), the users who hold units (they may be at their limit), the limit and
-- the window. Refuses (TOO_BIG) when the key set is larger than the caller will hold. Read-only.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 most keys to return
-- The epoch marker must be there and name this very server (mark_epoch.lua): a promoted replica
-- holds a copy naming its old primary and must not be trusted before it is repaired.
local marker = redis.call('GET', KEYS[6])
if not marker or string.sub(marker, 1, 41) ~= string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') .. ' ' then
  return {'NO_EPOCH'}
end
local v = redis.call('HMGET', KEYS[1], 'avail', 'limit', 'starts', 'ends', 'restoring')
if not v[1] or v[5] or redis.call('EXISTS', KEYS[5]) == 1 then return {'NOT_SOLD_OUT'} end
if tonumber(v[1]) > 0 then return {'NOT_SOLD_OUT'} end
if redis.call('HLEN', KEYS[2]) + redis.call('HLEN', KEYS[3]) > tonumber(ARGV[1]) then return {'TOO_BIG'} end
return {'SOLD_OUT', v[2], v[3] or '', v[4] or '', redis.call('HKEYS', KEYS[2]), redis.call('HKEYS', KEYS[3])}
