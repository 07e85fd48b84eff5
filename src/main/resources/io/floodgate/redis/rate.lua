-- The cluster-wide order rate: one token bucket shared by every instance, kept as GCRA (the
-- bucket is one number, the theoretical arrival time of the next token, in microseconds).
-- Takes up to ARGV[3] tokens in one call, so an instance can lease a few and spend them locally.
--
-- KEYS[1]  the bucket (a string; absent means full)
-- ARGV[1]  emission interval: microseconds per token (1e6 / rate), may be fractional
-- ARGV[2]  burst: tokens a full bucket holds
-- ARGV[3]  the most tokens to take
-- ARGV[4]  now in microseconds, or "" for the server's TIME (the one clock all instances share;
--          tests pass their own)
--
-- Reply {granted, 0} with 1 <= granted <= ARGV[3], or {0, wait}: microseconds until one token is
-- there. The key expires once the bucket would be full again: a full bucket needs no state.
local t = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local now
if ARGV[4] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
else
  now = tonumber(ARGV[4])
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local room = math.floor((now + burst * t - tat) / t)
if room < 1 then
  return {0, math.ceil(tat + t - burst * t - now)}
end
local granted = math.min(want, room)
tat = tat + granted * t
-- %.0f: tostring would write a large number as 1.7e+15 and lose digits
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return {granted, 0}
