-- Where a request goes, asked of the spawner and cached in a shared dict (bounded by its size,
-- least recently used entries evicted first) with a TTL; concurrent misses for the same key in one
-- worker wait for a single spawner call instead of each making their own.
local semaphore = require "ngx.semaphore"

local M = {}

local dict
local inflight = {}
local per_address = false

--- @param by_address claims per address instead of per /24 (ECS mode: users' tasks share subnets)
function M.init(dict_name, by_address)
  dict = ngx.shared[dict_name]
  if not dict then error("runtime-proxy: lua_shared_dict " .. dict_name .. " is missing") end
  per_address = by_address and true or false
end

function M.get(key) return dict:get(key) end

function M.set(key, value, ttl) dict:set(key, value, ttl) end

function M.forget(key)
  if key and key ~= "" then dict:delete(key) end
end

-- Which user a users' subnet (<a.b.c>) was last handed to, as the spawner's answers said. A cached
-- route into a subnet that the spawner has since given to someone else is stale (a reclaimed /24:
-- a cached route would reach the new user's app or sandbox). In ECS mode tasks of all users share
-- the subnets and an address is reused when a task stops, so the claim is per address.
local function subnet_of(address)
  if per_address then return address:match("^(%d+%.%d+%.%d+%.%d+)") end
  return address:match("^(%d+%.%d+%.%d+)%.")
end

--- Notes that `owner` holds the subnet of `address` ("ip" or "ip:port"); written on lookups only.
function M.claim(address, owner, ttl)
  local subnet = subnet_of(address)
  if subnet then dict:set("net:" .. subnet, owner, ttl) end
end

--- The dict key noting the holder of the subnet of `address`, or nil (not an IPv4 address).
function M.net_key(address)
  local subnet = subnet_of(address)
  return subnet and "net:" .. subnet
end

--- Whether the subnet noted under `net_key` (M.net_key) belongs to someone other than `owner` now.
--- Read on every request: the key is computed once per cached route value, the holder is not.
function M.net_held_by_other(net_key, owner)
  local holder = net_key and dict:get(net_key)
  return holder ~= nil and holder ~= owner
end

--- Whether the subnet of `address` is known to belong to someone other than `owner` now.
function M.claimed_by_other(address, owner)
  return M.net_held_by_other(M.net_key(address), owner)
end

--- Runs fetch() once per key and worker at a time; others asking meanwhile get the same result.
function M.coalesce(key, fetch, wait_seconds)
  local running = inflight[key]
  if running then
    running.waiters = running.waiters + 1
    local ok = running.sema:wait(wait_seconds)
    if ok and running.result then return unpack(running.result, 1, 3) end
    return nil, "timed out waiting for a concurrent lookup"
  end
  local entry = { sema = semaphore.new(), waiters = 0 }
  inflight[key] = entry
  local ok, a, b, c = pcall(fetch)
  inflight[key] = nil
  entry.result = ok and { a, b, c } or { nil, tostring(a) }
  if entry.waiters > 0 then entry.sema:post(entry.waiters) end
  return unpack(entry.result, 1, 3)
end

return M
