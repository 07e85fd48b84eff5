-- Rebuild, last step for one epoch marker: writes it only if the rebuild's sentinel (written
-- before anything was restored) is still there and still this rebuild's. If Redis restarted
-- empty during the rebuild, the sentinel is gone with what was restored, and the marker is not
-- written (LOST): the rebuild must run again.
--
-- The marker is written unreplicated and names this server process (its run_id): it says "this
-- server's data was made whole", which is true of no other server. A replica promoted by a
-- failover has no marker (it never received it), so every script answers NO_EPOCH there and the
-- ledger is repaired before it sells again. A replica that copied the marker in a full resync
-- holds another server's run_id: the ledger's watcher (epoch_check) finds that and deletes it.
-- KEYS: 1 sentinel, 2 epoch marker (same slot)
-- ARGV: 1 this rebuild's token, 2 epoch
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'LOST'} end
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
redis.set_repl(redis.REPL_NONE)
redis.call('SET', KEYS[2], run_id .. ' ' .. ARGV[2])
redis.call('DEL', KEYS[1])
return {'MARKED'}
