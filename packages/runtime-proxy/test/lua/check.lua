-- Assertions for the Lua specs.
local M = {}

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function M.eq(actual, expected, what)
  if actual ~= expected then
    error((what or "value") .. ": expected " .. show(expected) .. ", got " .. show(actual), 2)
  end
end

function M.truthy(v, what)
  if not v then error((what or "value") .. ": expected a true value, got " .. show(v), 2) end
end

function M.falsy(v, what)
  if v then error((what or "value") .. ": expected nil or false, got " .. show(v), 2) end
end

return M
