-- Upstream addresses come from the spawner as "http://<IPv4>:<port>". The proxy accepts nothing
-- else, so a confused or compromised answer cannot steer it to a name, another scheme, or the
-- instance metadata service (SSRF).
local M = {}

local function octet(s)
  local n = tonumber(s)
  return n and n <= 255 and (s == "0" or s:sub(1, 1) ~= "0") and n or nil
end

--- @return ip, port or nil, reason
function M.parse(url)
  if type(url) ~= "string" then return nil, "missing upstream" end
  local a, b, c, d, port = url:match("^http://(%d+)%.(%d+)%.(%d+)%.(%d+):([1-9]%d*)/?$")
  if not a then return nil, "upstream is not http://<IPv4>:<port>" end
  local o1, o2, o3, o4 = octet(a), octet(b), octet(c), octet(d)
  local p = tonumber(port)
  if not (o1 and o2 and o3 and o4) or p > 65535 then return nil, "upstream address out of range" end
  -- 169.254.0.0/16 holds the instance metadata service (credential theft through SSRF);
  -- 0.0.0.0/8 and multicast/reserved space are never a container.
  if (o1 == 169 and o2 == 254) or o1 == 0 or o1 >= 224 then
    return nil, "upstream address not allowed"
  end
  return a .. "." .. b .. "." .. c .. "." .. d, p
end

return M
