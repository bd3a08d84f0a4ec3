-- Where a browser request comes from (Origin, Sec-Fetch-Site) and what it asks for (WebSocket,
-- CORS preflight). Pure: the caller passes the lower-case header table.
local M = {}

--- A CORS preflight: OPTIONS with Access-Control-Request-Method (browsers add Origin). Any such
--- request counts, Origin or not: the edge lets all of them through unsigned, so none may reach a sandbox.
function M.is_preflight(method, headers)
  return method == "OPTIONS" and headers["access-control-request-method"] ~= nil
end

--- A WebSocket handshake, however it is spelled: an Upgrade header, or a Sec-WebSocket-Key (which
--- intermediaries that drop Upgrade keep).
function M.is_websocket(headers)
  return headers.upgrade ~= nil or headers["sec-websocket-key"] ~= nil
end

--- The Upgrade value to forward: "websocket" for a GET that asks for it, else nil (no h2c or other
--- protocol tunnels, no upgrade on other methods).
function M.upgrade_to_forward(method, headers)
  local upgrade = headers.upgrade
  if method == "GET" and type(upgrade) == "string" and upgrade:lower() == "websocket" then return "websocket" end
  return nil
end

--- Whether a request may act with the caller's credentials: GET/HEAD that are no WebSocket
--- handshake always; anything else only from one of the allowed origins. Without Origin, only
--- Sec-Fetch-Site same-origin or none (cross-site request forgery, cross-site WebSocket hijacking).
--- @param first, second the two exact origins allowed ("https://<host>")
function M.allowed(method, headers, first, second)
  if M.safe(method, headers) then return true end
  return M.from(headers, first, second)
end

--- GET or HEAD that is no WebSocket handshake: needs no Origin check.
function M.safe(method, headers)
  return (method == "GET" or method == "HEAD") and headers.upgrade == nil and headers["sec-websocket-key"] == nil
end

--- Origin is one of the two given; without Origin, Sec-Fetch-Site same-origin or none.
function M.from(headers, first, second)
  local origin = headers.origin
  if origin ~= nil then return origin == first or origin == second end
  local site = headers["sec-fetch-site"]
  return site == "same-origin" or site == "none"
end

M.PREFLIGHT_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
M.PREFLIGHT_HEADERS = "Accept, Authorization, Cache-Control, Content-Type, X-Requested-With, X-Session-API-Key"

--- Headers of the proxy's own answer to a preflight: CORS only for an allowed origin, with fixed
--- lists (a preflight carries no credentials, so it never reaches a sandbox).
function M.preflight_headers(headers, first, second)
  local origin = headers.origin
  local out = { ["Vary"] = "Origin" }
  if type(origin) == "string" and (origin == first or origin == second) then
    out["Access-Control-Allow-Origin"] = origin
    out["Access-Control-Allow-Credentials"] = "true"
    out["Access-Control-Allow-Methods"] = M.PREFLIGHT_METHODS
    out["Access-Control-Allow-Headers"] = M.PREFLIGHT_HEADERS
    out["Access-Control-Max-Age"] = "600"
  end
  return out
end

return M
