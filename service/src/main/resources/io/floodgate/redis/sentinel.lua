-- Rebuild, first step for one epoch marker: writes the rebuild's sentinel beside it. Unreplicated
-- (like the marker): it speaks of this server's data only, and a replica promoted mid-rebuild must
-- not inherit it.
-- KEYS: 1 sentinel
-- ARGV: 1 this rebuild's token
redis.set_repl(redis.REPL_NONE)
redis.call('SET', KEYS[1], ARGV[1])
return {'SET'}
