-- Our cookies (the edge's session and runtime credentials) in both directions. Pure.
-- Requests: removed from the Cookie header before the app or a sandbox sees them (session theft by
-- sandbox code). Responses: no Set-Cookie of an upstream may use our names or a Domain attribute
-- (cookie tossing onto the app host or other runtime hosts of the same site).
local M = {}

-- Any of our names in any case, with or without the prefix: __Host-oh-*, __Secure-oh-*, oh-*.
local function ours(name)
  local lower = name:lower()
  return lower:find("^__host%-oh[-_]") ~= nil or lower:find("^__secure%-oh[-_]") ~= nil
    or lower:find("^oh[-_]") ~= nil
end
M.ours = ours

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

-- What a browser could read as the name of an attribute: whitespace, control bytes and non-ASCII
-- bytes removed (parsers differ in what they trim), lower case.
local function attribute_name(part)
  local name = part:match("^([^=]*)")
  return (name:gsub("[%s%c\128-\255]", "")):lower()
end

--- One Set-Cookie value from an upstream, made safe for the client.
--- @return the value without any Domain attribute, or nil when the cookie must be dropped:
---   our names (cookie tossing over our session or runtime cookies), a nameless cookie (browsers
---   send "=__Host-oh-session=x" as "__Host-oh-session=x"), or a name with control bytes.
function M.safe_set_cookie(value)
  if type(value) ~= "string" then return nil end
  local first, rest = value:match("^([^;]*)(.*)$")
  local name = first:match("^([^=]*)=")
  if not name then return nil end
  name = name:match("^%s*(.-)%s*$")
  if name == "" or name:find("[%c\128-\255]") or ours(name) then return nil end
  if rest == "" then return value end
  local kept = { first }
  for part in rest:gmatch(";([^;]*)") do
    -- Cookie tossing across the site: Domain in any case and spacing ("Domain =x", "Domain\t=x") is dropped.
    if attribute_name(part) ~= "domain" then kept[#kept + 1] = part end
  end
  return table.concat(kept, ";")
end

--- Every Set-Cookie value of a response (string or table), filtered. @return a table (maybe empty) or nil when unchanged
function M.filter_set_cookies(header)
  local list = type(header) == "table" and header or { header }
  local out, changed = {}, false
  for _, value in ipairs(list) do
    local safe = M.safe_set_cookie(value)
    if safe ~= value then changed = true end
    if safe then out[#out + 1] = safe end
  end
  if not changed then return nil end
  return out
end

return M
