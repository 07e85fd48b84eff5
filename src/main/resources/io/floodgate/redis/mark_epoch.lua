-- Rebuild, last step for one epoch marker: writes it only if the rebuild's sentinel (written
-- before anything was restored) is still there and still this rebuild's. If Redis restarted
-- empty during the rebuild, the sentinel is gone with what was restored, and the marker is not
-- written (LOST): the rebuild must run again.
-- KEYS: 1 sentinel, 2 epoch marker (same slot)
-- ARGV: 1 this rebuild's token, 2 epoch
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'LOST'} end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
return {'MARKED'}
