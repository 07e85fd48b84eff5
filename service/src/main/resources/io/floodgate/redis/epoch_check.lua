-- The watcher's check of one epoch marker: is it there, and was it written on this very server?
-- A marker that names another server's run_id came with a full resync from the server that wrote
-- it; this server may since have fallen behind that one (a replica promoted by a failover), so
-- the marker is deleted and the ledger repairs the data before it sells again.
-- KEYS: 1 epoch marker
-- Reply: {'OK'}, {'MISSING'} or {'FOREIGN', the run_id it named}
local marker = redis.call('GET', KEYS[1])
if not marker then return {'MISSING'} end
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local named = string.match(marker, '^(%w+) ')
if named == run_id then return {'OK'} end
redis.call('DEL', KEYS[1])
return {'FOREIGN', named or ''}
