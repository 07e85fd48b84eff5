-- wrk script: POST /api/v1/orders with a unique Idempotency-Key and user per request.
-- SKU comes from the environment (wrk passes no args to request()), default BENCH.
local counter = 0
local prefix = nil
local sku = os.getenv("SKU") or "BENCH"
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  -- one prefix per wrk thread, so keys never collide across threads or runs
  prefix = string.format("%x%x", os.time(), math.random(0, 0x7fffffff))
end

function request()
  counter = counter + 1
  local id = prefix .. "-" .. counter
  headers["Idempotency-Key"] = "k" .. id
  local body = '{"userId":"u' .. id .. '","sku":"' .. sku .. '","quantity":1}'
  return wrk.format("POST", "/api/v1/orders", headers, body)
end
