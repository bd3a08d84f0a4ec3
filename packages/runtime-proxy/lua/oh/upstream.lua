-- Upstream addresses come from the spawner as "http://<IPv4>:<port>". The proxy accepts nothing
-- else, so a confused or compromised answer cannot steer it to a name, another scheme, or the
-- instance metadata service (SSRF). On top of the form, an upstream must lie in the users' subnets
-- (<prefix>.N.0/24): the app is always .2 on the app port, sandboxes are in .128/25. Pure.
local M = {}

local function octet(s)
  local n = tonumber(s)
  return n and n <= 255 and (s == "0" or s:sub(1, 1) ~= "0") and n or nil
end

--- @return ip, port, third octet, fourth octet or nil, reason
function M.parse(url)
  if type(url) ~= "string" then return nil, "missing upstream" end
  local a, b, c, d, port = url:match("^http://(%d+)%.(%d+)%.(%d+)%.(%d+):([1-9]%d*)/?$")
  if not a then return nil, "upstream is not http://<IPv4>:<port>" end
  local o1, o2, o3, o4 = octet(a), octet(b), octet(c), octet(d)
  local p = tonumber(port)
  if not (o1 and o2 and o3 and o4) or p > 65535 then return nil, "upstream address out of range" end
  -- 169.254.0.0/16 holds the instance metadata service (credential theft through SSRF);
  -- 0.0.0.0/8, loopback and multicast/reserved space are never a container.
  if (o1 == 169 and o2 == 254) or o1 == 0 or o1 == 127 or o1 >= 224 then
    return nil, "upstream address not allowed"
  end
  return a .. "." .. b .. "." .. c .. "." .. d, p, o3, o4
end

local function in_prefix(ip, prefix)
  return ip:sub(1, #prefix + 1) == prefix .. "."
end

--- A user's app: <prefix>.N.2:<app_port> only (a route steered at the gateway, a host service,
--- loopback or a sandbox would reach something that is not that user's OpenHands).
--- @param prefix the users' subnet prefix, two octets ("10.240")
function M.app(url, prefix, app_port)
  local ip, port, _, host_octet = M.parse(url)
  if not ip then return nil, port end
  if not in_prefix(ip, prefix) or host_octet ~= 2 or port ~= app_port then
    return nil, "app upstream " .. ip .. ":" .. port .. " is not <" .. prefix .. ".N.2>:" .. app_port
  end
  return ip, port
end

--- A sandbox port: <prefix>.N.128-254 on any port (never the gateway .1, the app .2, or anything
--- outside the users' subnets).
function M.sandbox(url, prefix)
  local ip, port, _, host_octet = M.parse(url)
  if not ip then return nil, port end
  if not in_prefix(ip, prefix) or host_octet < 128 or host_octet > 254 then
    return nil, "sandbox upstream " .. ip .. " is not in <" .. prefix .. ".N.128/25>"
  end
  return ip, port
end

return M
