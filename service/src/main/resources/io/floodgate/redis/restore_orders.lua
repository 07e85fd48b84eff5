-- Rebuild, step 2: makes the item's keys agree with durable orders of the store, each once (by
-- key and order id, so rebuilders that run at once, or a chunk sent twice, count every order
-- once). Only toward the store, and only where the store is sure:
--   key missing            live order takes its units and counts toward its user; a cancelled
--                          (or failed) one only keeps its key
--   pending, order live    becomes confirmed (the order is durable: what its confirm would do)
--   pending or confirmed,  becomes cancelled and its units come back (the store's cancel, or
--   order cancelled        failure, is final: what the ledger's return would do)
-- A key holding another order than the store's, and a cancelled key whose order the store holds
-- live, are left alone and counted as conflicts (neither is the ledger's to decide).
-- The reconciler runs the same step on a live item (a repair), fenced: it passes its lock's token,
-- and a token older than one that already repaired the item is refused (a deposed leader that
-- wakes late changes nothing). A rebuild passes 0: it holds no lock, and the item is not selling.
-- KEYS: 1 item hash, 2 keys hash, 3 held hash, 4 pending zset, 5 fence, 6 epoch marker
-- ARGV: 1 fencing token (0: a rebuild), then groups of 5: idempotency key, order id, user id,
--       quantity, state ('C' live, 'X' cancelled or failed)
-- Reply: {'ADDED', added, repaired, conflicts}, {'STALE', newest token}, {'NO_EPOCH'}, {'UNKNOWN_ITEM'}
local token = tonumber(ARGV[1])
if token > 0 then
  -- The epoch marker must be there and name this very server (mark_epoch.lua): a promoted replica
  -- holds a copy naming its old primary and must not be trusted before it is repaired.
  local marker = redis.call('GET', KEYS[6])
  if not marker or string.sub(marker, 1, 41) ~= string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') .. ' ' then
    return {'NO_EPOCH'}
  end
  local seen = tonumber(redis.call('HGET', KEYS[1], 'repair_fence') or '0')
  if token < seen then return {'STALE', seen} end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'UNKNOWN_ITEM'} end
if token > 0 then redis.call('HSET', KEYS[1], 'repair_fence', token) end
local added, repaired, conflicts = 0, 0, 0
for i = 2, #ARGV, 5 do
  local key, id, user, q, state = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local entry = redis.call('HGET', KEYS[2], key)
  if not entry then
    redis.call('HSET', KEYS[2], key, state .. '|' .. id .. '|' .. q .. '|' .. user)
    added = added + 1
    if state == 'C' then
      redis.call('HINCRBY', KEYS[1], 'avail', -tonumber(q))
      redis.call('HINCRBY', KEYS[3], user, tonumber(q))
    end
  else
    local s, eid, eq, euser = string.match(entry, '^(%a)|([^|]*)|(%d+)|(.*)$')
    if eid ~= id then
      conflicts = conflicts + 1
    elseif state == 'C' and s == 'P' then
      redis.call('HSET', KEYS[2], key, 'C|' .. eid .. '|' .. eq .. '|' .. euser)
      redis.call('ZREM', KEYS[4], key)
      repaired = repaired + 1
    elseif state == 'X' and s ~= 'X' then
      redis.call('HSET', KEYS[2], key, 'X|' .. eid .. '|' .. eq .. '|' .. euser)
      redis.call('ZREM', KEYS[4], key)
      redis.call('HINCRBY', KEYS[1], 'avail', tonumber(eq))
      if redis.call('HINCRBY', KEYS[3], euser, -tonumber(eq)) <= 0 then redis.call('HDEL', KEYS[3], euser) end
      repaired = repaired + 1
    elseif state == 'C' and s == 'X' then
      conflicts = conflicts + 1
    end
  end
end
if added + repaired > 0 then redis.call('HSET', KEYS[1], 'ordered', '1') end
return {'ADDED', added, repaired, conflicts}
