-- Lifts the fence if it is still ours, leaving the item as it was (or absent, if it was new:
-- a new item's hash is written only by commit).
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 fence token
if redis.call('GET', KEYS[5]) == ARGV[1] then redis.call('DEL', KEYS[5]) end
return {'ABORTED'}
