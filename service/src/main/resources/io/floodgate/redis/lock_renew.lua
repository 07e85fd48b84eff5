-- Extends a lock's lease if the caller still owns it.
-- KEYS: 1 the lock
-- ARGV: 1 owner id, 2 lease in ms
-- Reply: {1} extended, {0} not the owner (the lease ran out, and maybe another holder took it)
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1}
end
return {0}
