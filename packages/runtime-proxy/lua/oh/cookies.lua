-- Removes our own cookies (the edge's session and runtime credentials) from a Cookie header before
-- a request reaches a user's app or sandbox: code in a sandbox must never see them (session theft).
local M = {}

local function ours(name)
  local lower = name:lower()
  return lower:find("^__host%-oh[-_]") ~= nil or lower:find("^__secure%-oh[-_]") ~= nil
end

--- @param header the Cookie header (string, or table when repeated)
--- @return the header without our cookies, or nil when nothing remains
function M.strip(header)
  if type(header) == "table" then header = table.concat(header, "; ") end
  if type(header) ~= "string" or header == "" then return nil end
  local kept = {}
  for pair in header:gmatch("[^;]+") do
    local trimmed = pair:match("^%s*(.-)%s*$")
    local name = trimmed:match("^([^=]*)")
    if trimmed ~= "" and not ours(name:match("^%s*(.-)%s*$")) then kept[#kept + 1] = trimmed end
  end
  if #kept == 0 then return nil end
  return table.concat(kept, "; ")
end

return M
