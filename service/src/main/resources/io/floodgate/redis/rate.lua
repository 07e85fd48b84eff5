-- The cluster-wide order rate: one token bucket shared by every instance, kept as GCRA (the
-- bucket is one number, the theoretical arrival time of the next token, in microseconds).
-- Takes ARGV[3] tokens in one call, all or none, so an instance can lease a few and spend them
-- locally. All or none: when demand exceeds the rate the bucket holds about one token at a time,
-- and "as many as there are" would lease one per round trip just when leases matter most.
--
-- KEYS[1]  the bucket (a string; absent means full)
-- ARGV[1]  emission interval: microseconds per token (1e6 / rate), may be fractional
-- ARGV[2]  burst: tokens a full bucket holds
-- ARGV[3]  the tokens to take (at most the burst: more could never be there)
-- ARGV[4]  now in microseconds, or "" for the server's TIME (the one clock all instances share;
--          tests pass their own)
--
-- Reply {granted, 0}, or {0, wait}: microseconds until that many tokens are there. The key expires once the bucket would be full again: a full bucket needs no state.
local t = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = math.min(tonumber(ARGV[3]), burst)
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
if room < want then
  return {0, math.ceil(tat + want * t - burst * t - now)}
end
tat = tat + want * t
-- %.0f: tostring would write a large number as 1.7e+15 and lose digits
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return {want, 0}
