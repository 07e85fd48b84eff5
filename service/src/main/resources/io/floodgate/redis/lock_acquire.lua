-- Takes a lock if it is free, and gives the new holder the next fencing token.
-- KEYS: 1 the lock (its holder's owner id, expiring with the lease), 2 the lock's token counter
--       (both carry the hash tag {lock:<name>}: one slot, so this runs on Redis Cluster too)
-- ARGV: 1 owner id (unique to this acquisition), 2 lease in ms
-- Reply: {1, token} when taken, {0} when someone holds it.
--
-- Tokens never go down. The counter has no TTL, so it outlives every lease; and it is raised to
-- the server clock in microseconds whenever it is behind it, so a Redis that lost the counter
-- (restarted without persistence, failed over to a replica that had not caught up) still hands
-- out tokens above those it gave before, as long as its clock did not go back and fewer than one
-- lock per microsecond was ever taken. (Lua numbers are doubles: exact up to 2^53, some 285 years
-- of microseconds; the floor is written as the server's own digits, not as a formatted number.)
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
local token = redis.call('INCR', KEYS[2])
local now = redis.call('TIME')
local floor = now[1] .. string.format('%06d', tonumber(now[2]))
if token < tonumber(floor) then
  redis.call('SET', KEYS[2], floor)
  token = tonumber(floor)
end
return {1, token}
