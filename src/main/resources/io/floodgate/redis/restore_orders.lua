-- Rebuild, step 2: adds durable orders of one item, each once (by key, so rebuilders that run
-- at once, or a chunk sent twice, count every order once). Live orders take units and count
-- toward their user; cancelled ones only keep their key.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: groups of 5: idempotency key, order id, user id, quantity, state ('C' live, 'X' cancelled)
if redis.call('EXISTS', KEYS[1]) == 0 then return {'UNKNOWN_ITEM'} end
local added = 0
for i = 1, #ARGV, 5 do
  local key, id, user, q, state = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  if redis.call('HSETNX', KEYS[2], key, state .. '|' .. id .. '|' .. q .. '|' .. user) == 1 then
    added = added + 1
    if state == 'C' then
      redis.call('HINCRBY', KEYS[1], 'avail', -tonumber(q))
      redis.call('HINCRBY', KEYS[3], user, tonumber(q))
    end
  end
end
if added > 0 then redis.call('HSET', KEYS[1], 'ordered', '1') end
return {'ADDED', added}
