-- wrk script: POST /api/v1/orders with a unique Idempotency-Key and user per request.
-- SKU comes from the environment (wrk passes no args to request()), default BENCH.
--
-- Each wrk thread gets its own number from setup() and its own prefix from it. (The prefix was
-- os.time() and an unseeded math.random, the same in every thread: wrk's two threads sent the
-- same keys, so about half of the "orders" were replays of the other thread's.)
local counter = 0
local prefix = nil
local sku = os.getenv("SKU") or "BENCH"
local headers = { ["Content-Type"] = "application/json" }
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  prefix = string.format("%x-%d-%x", os.time(), thread_number or 0, math.random(0, 0x7fffffff))
end

function request()
  counter = counter + 1
  local id = prefix .. "-" .. counter
  headers["Idempotency-Key"] = "k" .. id
  local body = '{"userId":"u' .. id .. '","sku":"' .. sku .. '","quantity":1}'
  return wrk.format("POST", "/api/v1/orders", headers, body)
end
