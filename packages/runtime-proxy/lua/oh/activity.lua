-- Activity reports to the spawner, in batches: every request notes "<slug> was active at <ms>" in a
-- shared dict; worker 0 sends the batch as POST /v1/activity [{slug, at}] every flush interval.
local log = require "oh.log"
local spawner = require "oh.spawner"

local M = {}

local dict
local noted = {} -- per worker: slug -> last second noted, to write the dict at most once a second

function M.init(dict_name)
  dict = ngx.shared[dict_name]
  if not dict then error("runtime-proxy: lua_shared_dict " .. dict_name .. " is missing") end
end

function M.record(slug)
  local now = ngx.now()
  local last = noted[slug]
  if last and now - last < 1 then return end
  noted[slug] = now
  dict:set(slug, math.floor(now * 1000))
end

local function flush(premature)
  if premature then return end
  local slugs = dict:get_keys(1000)
  if #slugs == 0 then return end
  local batch = {}
  for _, slug in ipairs(slugs) do
    local at = dict:get(slug)
    if at then
      batch[#batch + 1] = { slug = slug, at = at }
      dict:delete(slug)
    end
  end
  if #batch == 0 then return end
  local response, err = spawner.request("POST", "/v1/activity", batch)
  if not response or response.status >= 300 then
    -- Log injection: the error text comes from the network; escaped like every other line.
    ngx.log(ngx.WARN, "activity report failed (", log.escape(err or response.status), "); keeping ", #batch, " entries")
    -- Put them back unless a newer note arrived meanwhile.
    for _, entry in ipairs(batch) do dict:add(entry.slug, entry.at) end
  end
end

function M.start(interval_seconds)
  if ngx.worker.id() ~= 0 then return end
  local ok, err = ngx.timer.every(interval_seconds, flush)
  if not ok then ngx.log(ngx.ERR, "cannot start the activity timer: ", err) end
end

return M
