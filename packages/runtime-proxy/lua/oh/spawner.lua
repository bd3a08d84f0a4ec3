-- A small HTTP/1.1 client for the spawner's control API over cosockets (usable in the access and
-- content phases and in timers, where subrequests are not), with a keepalive pool.
local cjson = require "cjson.safe"

local M = {}

local target = {}

--- @param url e.g. "http://127.0.0.1:8081"; @param timeout_ms per connect/send/read
function M.configure(url, timeout_ms)
  local host, port = url:match("^http://([%w%.%-]+):(%d+)/?$")
  if not host then
    error("runtime-proxy: spawnerUrl " .. url .. " is not http://<host>:<port>")
  end
  target = { host = host, port = tonumber(port), timeout = timeout_ms, authority = host .. ":" .. port }
end

local function read_body(sock, status, headers)
  -- 1xx, 204 and 304 never carry a body (RFC 9112 6.3), whatever the headers say: reading on would wait for a close.
  if status < 200 or status == 204 or status == 304 then return "" end
  local length = tonumber(headers["content-length"])
  if length then
    if length == 0 then return "" end
    return sock:receive(length)
  end
  if (headers["transfer-encoding"] or ""):lower():find("chunked", 1, true) then
    local parts = {}
    while true do
      local line, err = sock:receive("*l")
      if not line then return nil, err end
      local size = tonumber(line:match("^%x+"), 16)
      if not size then return nil, "bad chunk size" end
      if size == 0 then
        repeat line, err = sock:receive("*l") until not line or line == ""
        if not line then return nil, err end
        return table.concat(parts)
      end
      local data, derr = sock:receive(size)
      if not data then return nil, derr end
      parts[#parts + 1] = data
      local _, crlf_err = sock:receive(2)
      if crlf_err then return nil, crlf_err end
    end
  end
  headers.connection = "close"
  return sock:receive("*a")
end

local function exchange(sock, request)
  local sent, err = sock:send(request)
  if not sent then return nil, err end
  local status_line, serr = sock:receive("*l")
  if not status_line then return nil, serr end
  local status = tonumber(status_line:match("^HTTP/1%.%d (%d%d%d)"))
  if not status then return nil, "bad status line" end
  local headers = {}
  while true do
    local line, herr = sock:receive("*l")
    if not line then return nil, herr end
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then headers[name:lower()] = value end
  end
  local body, berr = read_body(sock, status, headers)
  if not body then return nil, berr end
  return { status = status, body = body, keepalive = (headers.connection or ""):lower() ~= "close" }
end

--- Sends one request. @return {status, body, json} or nil, error
function M.request(method, path, payload, timeout_ms)
  local body = payload and cjson.encode(payload) or ""
  local request = method .. " " .. path .. " HTTP/1.1\r\nHost: " .. target.authority
    .. "\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: " .. #body
    .. "\r\n\r\n" .. body
  -- One retry, only when a pooled connection turned out to be closed by the spawner meanwhile.
  for _ = 1, 2 do
    local sock = ngx.socket.tcp()
    local timeout = timeout_ms or target.timeout
    sock:settimeouts(timeout, timeout, timeout)
    local ok, err = sock:connect(target.host, target.port)
    if not ok then return nil, "connect: " .. tostring(err) end
    local reused = (sock:getreusedtimes() or 0) > 0
    local response, xerr = exchange(sock, request)
    if response then
      if response.keepalive then sock:setkeepalive(60000, 64) else sock:close() end
      response.json = cjson.decode(response.body)
      return response
    end
    sock:close()
    if not reused then return nil, tostring(xerr) end
  end
  return nil, "spawner closed the connection"
end

return M
