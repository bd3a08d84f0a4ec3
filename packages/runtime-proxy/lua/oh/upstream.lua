-- Upstream addresses come from the spawner as "http://<IPv4>:<port>". The proxy accepts nothing
-- else, so a confused or compromised answer cannot steer it to a name, another scheme, or the
-- instance metadata service (SSRF). On top of the form, an upstream must lie in the users' subnets
-- (<prefix>.N.0/24): the app is always .2 on the app port, sandboxes are in .128/25. In ECS mode the
-- users' tasks share the task subnets (CIDRs) instead: an app task on the app port, a sandbox task on
-- one of the agent-server's four ports. Pure.
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

--- ECS mode: the task subnets ("a.b.c.d/n" strings, validated by settings.ts) as { base, size } pairs.
function M.subnets(cidrs)
  local parsed = {}
  for _, cidr in ipairs(cidrs or {}) do
    local a, b, c, d, bits = cidr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
    if not a then error("runtime-proxy: task subnet " .. tostring(cidr) .. " is not a.b.c.d/n", 0) end
    local size = 2 ^ (32 - tonumber(bits))
    parsed[#parsed + 1] = { base = ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d), size = size }
  end
  return parsed
end

-- Whether ip ("a.b.c.d", already parsed) is a usable address of one of the subnets: AWS keeps the
-- network address, the next three (router, DNS, reserved) and the last one; no task ever holds them.
local function in_task_subnets(ip, subnets)
  local a, b, c, d = ip:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  local n = ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
  for i = 1, #subnets do
    local net = subnets[i]
    local offset = n - net.base
    if offset >= 4 and offset < net.size - 1 then return true end
  end
  return false
end

-- The agent-server image's four ports (docs/ecs.md, section 1): the agent-server, VS Code and two workers.
local SANDBOX_PORTS = { [60000] = true, [60001] = true, [12000] = true, [12001] = true }

--- ECS mode: a user's app task, any usable task-subnet address on the app port (a route steered at the
--- host, another service in the VPC or a sandbox port would reach something that is not an OpenHands app).
function M.ecs_app(url, subnets, app_port)
  local ip, port = M.parse(url)
  if not ip then return nil, port end
  if not in_task_subnets(ip, subnets) or port ~= app_port then
    return nil, "app upstream " .. ip .. ":" .. port .. " is not a task address on port " .. app_port
  end
  return ip, port
end

--- ECS mode: a sandbox task's port, a usable task-subnet address on one of the agent-server's ports
--- (not the app's port of a task there, nor any other service).
function M.ecs_sandbox(url, subnets)
  local ip, port = M.parse(url)
  if not ip then return nil, port end
  if not in_task_subnets(ip, subnets) or not SANDBOX_PORTS[port] then
    return nil, "sandbox upstream " .. ip .. ":" .. port .. " is not a task address on 60000, 60001, 12000 or 12001"
  end
  return ip, port
end

return M
