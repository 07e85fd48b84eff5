-- Releases a lock if the caller still owns it; anyone else's holding is left alone.
-- KEYS: 1 the lock
-- ARGV: 1 owner id
-- Reply: {1} released, {0} not the owner
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {1}
end
return {0}
