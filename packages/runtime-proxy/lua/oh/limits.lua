-- Per-client budget of spawner route lookups for callers without a signed identity. Only cache
-- misses are counted, so the hot path (a cached route) never writes here.
local M = {}

local dict
local WINDOW = 60

function M.init(dict_name)
  dict = ngx.shared[dict_name]
  if not dict then error("runtime-proxy: lua_shared_dict " .. dict_name .. " is missing") end
end

--- Counts one lookup for `client`; false when the client is over `per_minute` in this window.
function M.take_lookup(client, per_minute)
  local count, err = dict:incr("lk:" .. client, 1, 0, WINDOW)
  -- A full dict must not turn into a way around the bound: refuse until entries expire.
  if not count then return false, err end
  return count <= per_minute
end

return M
