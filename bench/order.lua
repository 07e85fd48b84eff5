-- wrk script: POST /api/v1/orders with a unique Idempotency-Key and user per request.
-- From the environment (wrk passes no args to request()):
--   SKU   the item, default BENCH
--   MODE  new (default): a new key and user each time;
--         replay: each thread cycles through 4,096 keys and users of its own, the same in every
--                 run (r<thread>-<n>): once a run has placed them, every request is a replay
--                 (4,096 users a thread keep each user under the per-user rate limit);
--         hot-user: a new key each time, all from one user (the per-user rate limit answers 429);
--         uuid: a random UUID v4 as the key and a user per key, as many real clients send (rising
--               keys, as in new, are far cheaper for SQLite's indexes: docs/BENCHMARKS.md, issue 14).
--
-- Each wrk thread gets its own number from setup() and its own prefix from it. (The prefix was
-- os.time() and an unseeded math.random, the same in every thread: wrk's two threads sent the
-- same keys, so about half of the "orders" were replays of the other thread's.)
local counter = 0
local prefix = nil
local sku = os.getenv("SKU") or "BENCH"
local mode = os.getenv("MODE") or "new"
local headers = { ["Content-Type"] = "application/json" }
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  if mode == "replay" then
    prefix = "r" .. (thread_number or 0)
  else
    prefix = string.format("%x-%d-%x", os.time(), thread_number or 0, math.random(0, 0x7fffffff))
  end
end

local function hex(n)
  local t = {}
  for i = 1, n do
    t[i] = string.format("%x", math.random(0, 15))
  end
  return table.concat(t)
end

function request()
  if mode == "uuid" then
    local key = hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
    headers["Idempotency-Key"] = key
    return wrk.format("POST", "/api/v1/orders", headers, '{"userId":"u' .. key .. '","sku":"' .. sku .. '","quantity":1}')
  end
  counter = counter + 1
  if mode == "replay" and counter > 4096 then
    counter = 1
  end
  local id = prefix .. "-" .. counter
  local user = mode == "hot-user" and "hot" or id
  headers["Idempotency-Key"] = "k" .. id
  local body = '{"userId":"u' .. user .. '","sku":"' .. sku .. '","quantity":1}'
  return wrk.format("POST", "/api/v1/orders", headers, body)
end
