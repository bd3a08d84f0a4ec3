-- Runtime host names: "<host port>-<user slug>.<runtime domain>" (docs/CONTRACTS.md).
-- Strict on purpose: one label in front of the runtime domain, lower case, decimal port 1-65535
-- without a leading zero, a 16-character base32 slug. Anything else is refused before any lookup
-- (host confusion, cache poisoning with look-alike names, extra labels, unicode look-alikes).
local M = {}

--- @return {port = number, slug = string} or nil, reason
function M.parse(host, runtime_domain)
  if type(host) ~= "string" or host == "" then return nil, "missing host" end
  if #host > 253 then return nil, "host too long" end
  local suffix = "." .. runtime_domain
  if #host <= #suffix or host:sub(-#suffix) ~= suffix then
    return nil, "not a host under the runtime domain"
  end
  local label = host:sub(1, #host - #suffix)
  local port, slug = label:match("^([1-9]%d?%d?%d?%d?)%-([a-z2-7]+)$")
  if not port or #slug ~= 16 then
    return nil, "malformed runtime host label (expected <port>-<16-character slug>)"
  end
  local number = tonumber(port)
  if number > 65535 then return nil, "port out of range" end
  return { port = number, slug = slug }
end

return M
