-- The nginx-facing entry points: one function per phase and server (app host, runtime hosts,
-- health, anything else). Decisions are made here; parsing and crypto live in the pure modules.
local cjson = require "cjson.safe"
local balancer = require "ngx.balancer"
local activity = require "oh.activity"
local b64url = require "oh.b64url"
local cookies = require "oh.cookies"
local crypto = require "oh.crypto"
local identity = require "oh.identity"
local log = require "oh.log"
local respond = require "oh.respond"
local routes = require "oh.routes"
local runtime_host = require "oh.runtime_host"
local spawner = require "oh.spawner"
local upstream = require "oh.upstream"
local url_rewrite = require "oh.url_rewrite"

local M = {}

local S          -- settings rendered into nginx.conf
local KEY        -- raw identity-signing key; never logged
local VERIFY_OPTS
local APP_ORIGIN
local KINDS = { ["agent-server"] = true, vscode = true, worker = true, unknown = true }
-- App API responses that carry sandbox URLs (design review §5).
local REWRITE_PATHS = { "^/api/v1/sandboxes", "^/api/v1/app%-conversations" }

local function read_key(path)
  local file, err = io.open(path, "rb")
  if not file then
    error("runtime-proxy: cannot read the identity-signing key file " .. path .. ": " .. tostring(err), 0)
  end
  local text = file:read("*a") or ""
  file:close()
  local key = b64url.decode((text:gsub("%s+$", "")))
  if not key or #key ~= 32 then
    error("runtime-proxy: the identity-signing key file " .. path
      .. " must hold 32 bytes as unpadded base64url (43 characters)", 0)
  end
  return key
end

--- init_by_lua (master process, before the workers drop privileges): settings and the key.
function M.init(settings_json)
  S = assert(cjson.decode(settings_json), "runtime-proxy: rendered settings are not JSON")
  KEY = read_key(S.identityKeyFile)
  VERIFY_OPTS = { skew = S.identitySkewSeconds, max_ahead = S.identityMaxAheadSeconds }
  APP_ORIGIN = "https://" .. S.appHost
  spawner.configure(S.spawnerUrl, S.spawnerTimeoutMs)
end

function M.init_worker()
  routes.init("oh_routes")
  activity.init("oh_activity")
  activity.start(S.activityFlushSeconds)
  log.start(0.2)
end

-- Removes what must not travel further: every x-oh-* header (identity spoofing toward the app or
-- a sandbox) and our own cookies (session theft by sandbox code).
local function strip_credentials(headers)
  for name in pairs(headers) do
    if name:sub(1, 5) == "x-oh-" then ngx.req.clear_header(name) end
  end
  if headers.cookie then ngx.req.set_header("Cookie", cookies.strip(headers.cookie)) end
end

local function use_peer(ip, port, route_key)
  local ctx = ngx.ctx
  ctx.peer_ip, ctx.peer_port = ip, port
  ngx.var.oh_route_key = route_key
end

local write_log = log.write

-- Every header, however many: with a cap, x-oh-* headers past it would escape strip_credentials
-- (identity spoofing toward the app or a sandbox). nginx bounds the total by large_client_header_buffers.
local function all_headers()
  return ngx.req.get_headers(0)
end

local function log_refusal(what, reason)
  write_log(ngx.WARN, "refused ", what, ": ", reason, " host=", tostring(ngx.var.http_host), " uri=", ngx.var.uri)
end

-- The Host header must be the name nginx routed on, byte for byte: an absolute-form request target
-- naming another host, or a mixed-case Host, would otherwise split routing from what was signed.
local function exact_host()
  local host = ngx.var.http_host
  if type(host) ~= "string" or host ~= ngx.var.host then return nil end
  return host
end

------------------------------------------------------------------------------------------------
-- App host: the signed user's own OpenHands, started on demand by the spawner.

local function ensure(who)
  local response, err = spawner.request("POST", "/v1/users/" .. who.slug .. "/ensure",
    { sub = who.sub, email = who.email })
  if not response then return nil, err end
  local body = type(response.json) == "table" and response.json or {}
  if response.status == 202 or (response.status == 200 and body.state == "starting") then
    return { state = "starting", retryAfterMs = tonumber(body.retryAfterMs) }
  end
  if response.status == 200 and body.state == "running" then
    local ip, port = upstream.parse(body.upstream)
    if not ip then return nil, "ensure answered a bad upstream (" .. port .. ")" end
    return { state = "running", peer = ip .. ":" .. port }
  elseif response.status == 503 then
    return { state = "capacity", message = type(body.message) == "string" and body.message or nil }
  end
  return nil, "ensure answered " .. response.status
end

function M.app_access()
  local host = exact_host()
  -- Only the configured app host reaches a user's app (host header confusion).
  if host ~= S.appHost then
    log_refusal("app request", "host mismatch")
    return respond.error(400, "bad_host", "This host name is not served here.")
  end
  local headers = all_headers()
  local who, reason = identity.verify(KEY, host, headers, ngx.time(), VERIFY_OPTS)
  -- Every app request needs the edge's signed identity (edge bypass, forged or replayed identity).
  if not who then
    log_refusal("app request", "identity " .. reason)
    return respond.error(401, "unauthenticated", "Sign in again: the request carried no valid identity.")
  end

  -- Same-site CSRF: a sandbox page on a runtime subdomain is same-site with the app, so SameSite
  -- cookies do not stop it; a state-changing request must come from the app's own origin. The edge
  -- checks this first; this is the second line.
  local method = ngx.req.get_method()
  if method ~= "GET" and method ~= "HEAD" and method ~= "OPTIONS" then
    local origin, site = headers.origin, headers["sec-fetch-site"]
    if (origin ~= nil and origin ~= APP_ORIGIN)
        or (origin == nil and site ~= nil and site ~= "same-origin" and site ~= "none") then
      log_refusal("app request", "cross-site " .. method)
      return respond.error(403, "cross_site", "This request did not come from OpenHands itself.")
    end
  end

  local route_key = "app:" .. who.slug
  local peer = routes.get(route_key)
  if not peer then
    local result, err = routes.coalesce(route_key, function() return ensure(who) end, S.spawnerTimeoutMs / 1000 * 2)
    if not result then
      write_log(ngx.ERR, "spawner ensure for ", who.slug, " failed: ", tostring(err))
      return respond.error(503, "spawner_unavailable",
        "The workspace service is not answering. Retrying shortly usually helps.", S.spawnerRetryAfterSeconds)
    end
    if result.state == "starting" then return respond.starting(result.retryAfterMs) end
    if result.state == "capacity" then
      return respond.error(503, "capacity", result.message or "The server is at capacity; try again in a minute.", 60)
    end
    peer = result.peer
    routes.set(route_key, peer, S.routeCacheSeconds)
  end

  local ip, port = peer:match("^(.+):(%d+)$")
  use_peer(ip, tonumber(port), route_key)
  activity.record(who.slug)
  strip_credentials(headers)
  local uri = ngx.var.uri
  for _, pattern in ipairs(REWRITE_PATHS) do
    if uri:find(pattern) then
      ngx.ctx.rewriter = url_rewrite.new(who.slug, S.runtimeDomain)
      -- The body is rewritten on the way back, so it must arrive uncompressed.
      ngx.req.clear_header("Accept-Encoding")
      break
    end
  end
end

function M.app_header_filter()
  if not ngx.ctx.rewriter then return end
  -- Only JSON carries sandbox URLs; downloads (zips, files) on the same paths pass untouched.
  local content_type = ngx.header["Content-Type"]
  if type(content_type) == "string" and not content_type:lower():find("json", 1, true) then
    ngx.ctx.rewriter = nil
    return
  end
  local encoding = ngx.header["Content-Encoding"]
  if encoding and encoding ~= "identity" then
    write_log(ngx.WARN, "not rewriting a ", tostring(encoding), "-encoded response for ", ngx.var.uri)
    ngx.ctx.rewriter = nil
    return
  end
  ngx.header["Content-Length"] = nil
end

function M.app_body_filter()
  local rewriter = ngx.ctx.rewriter
  if rewriter then ngx.arg[1] = rewriter:feed(ngx.arg[1], ngx.arg[2]) end
end

------------------------------------------------------------------------------------------------
-- Runtime hosts: a sandbox port, reachable by its owner or with the sandbox's session key.

local function decode_route(value)
  local owner, ip, port, kind, hash = value:match("^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$")
  return { owner = owner, ip = ip, port = tonumber(port), kind = kind, hash = hash }
end

local function resolve(host)
  local route_key = "rt:" .. host
  local cached = routes.get(route_key)
  if cached == "-" then return false end
  if cached then return decode_route(cached) end
  return routes.coalesce(route_key, function()
    -- host passed runtime_host.parse: letters, digits, dots and one dash, nothing to escape.
    local response, err = spawner.request("GET", "/v1/routes/resolve?host=" .. host)
    if not response then return nil, err end
    if response.status == 404 then
      routes.set(route_key, "-", S.negativeCacheSeconds)
      return false
    end
    local body = response.json
    if response.status ~= 200 or type(body) ~= "table" then
      return nil, "resolve answered " .. response.status
    end
    local ip, port = upstream.parse(body.upstream)
    local hash = body.sessionKeySha256
    if hash == cjson.null or hash == nil then hash = "" end
    if not ip or type(body.owner) ~= "string" or not body.owner:find("^[a-z2-7]+$") or #body.owner ~= 16
        or not KINDS[body.kind] or type(hash) ~= "string" or not (hash == "" or hash:find("^%x+$") and #hash == 64) then
      return nil, "resolve answered a malformed route"
    end
    local value = body.owner .. "|" .. ip .. "|" .. port .. "|" .. body.kind .. "|" .. hash:lower()
    routes.set(route_key, value, S.routeCacheSeconds)
    return decode_route(value)
  end, S.spawnerTimeoutMs / 1000 * 2)
end

-- Whether the worker port answers HTTP at all (2xx or 3xx to "GET /"), remembered for 2 s per host
-- so the App tab's 3-second polling costs the sandbox at most one request per interval. A TCP
-- connect alone would not do: Docker's userland proxy accepts on published ports even when nothing
-- listens in the container.
local PROBE_REQUEST = "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: openhands-team-proxy-probe\r\nConnection: close\r\n\r\n"

local function worker_answers(route, host)
  local cache_key = "probe:" .. host
  local cached = routes.get(cache_key)
  if cached ~= nil then return cached == 1 end
  local alive = false
  local sock = ngx.socket.tcp()
  sock:settimeouts(1000, 1000, 2000)
  if sock:connect(route.ip, route.port) and sock:send(PROBE_REQUEST:format(host)) then
    local line = sock:receive("*l")
    local status = line and tonumber(line:match("^HTTP/1%.%d (%d%d%d)"))
    alive = status ~= nil and status < 400
  end
  sock:close()
  routes.set(cache_key, alive and 1 or 0, 2)
  return alive
end

-- The session key the OpenHands SPA sends to the agent-server: header or query parameter.
local function presented_session_key(headers)
  local key = headers["x-session-api-key"]
  if key == nil then key = ngx.req.get_uri_args(100)["session_api_key"] end
  if key == nil then return nil end
  if type(key) ~= "string" or #key == 0 or #key > 512 then return false end
  return key
end

function M.runtime_access()
  local host = exact_host()
  local parsed, why = runtime_host.parse(host, S.runtimeDomain)
  -- Strict host pattern before anything else (look-alike, mixed-case, extra-label and unicode hosts).
  if not host or not parsed then
    log_refusal("runtime request", why or "host mismatch")
    return respond.error(400, "bad_host", "This is not a valid workspace address.")
  end
  local headers = all_headers()
  local who, reason = identity.verify(KEY, host, headers, ngx.time(), VERIFY_OPTS)
  -- An identity that is present must be valid (forged, expired, or minted for another host).
  if not who and reason ~= "missing" then
    log_refusal("runtime request", "identity " .. reason)
    return respond.error(401, "unauthenticated", "Sign in again: the request carried no valid identity.")
  end
  local key = presented_session_key(headers)
  local method = ngx.req.get_method()
  local preflight = method == "OPTIONS" and headers["access-control-request-method"] ~= nil
    and headers.origin ~= nil
  local probe = not who and key == nil and not preflight and (method == "GET" or method == "HEAD")
    and headers.origin == APP_ORIGIN
  -- Without identity, session key or preflight nothing is looked up (anonymous enumeration).
  if not who and key == nil and not preflight and not probe then
    log_refusal("runtime request", "no credential")
    return respond.error(401, "unauthenticated", "Open this workspace from OpenHands to sign in to it.")
  end

  local route, err = resolve(host)
  if route == nil then
    write_log(ngx.ERR, "spawner resolve for ", host, " failed: ", tostring(err))
    return respond.error(503, "spawner_unavailable",
      "The workspace service is not answering. Retrying shortly usually helps.", S.spawnerRetryAfterSeconds)
  end
  if route == false then
    return respond.error(404, "sandbox_not_found", "No running sandbox answers at this address.")
  end
  -- The slug in the name must own the port: another user's sandbox port put under one's own slug.
  if route.owner ~= parsed.slug then
    log_refusal("runtime request", "host slug is not the route owner")
    return respond.error(403, "not_yours", "This workspace belongs to someone else.")
  end

  local allowed = false
  if who and who.slug == route.owner then
    allowed = true
  elseif key then
    -- Session key check against the spawner's hash (access to another user's sandbox, key guessing).
    allowed = route.hash ~= "" and crypto.constant_time_equals(crypto.sha256_hex(key), route.hash)
  elseif key == nil and preflight then
    -- CORS preflights carry no credentials by design; the sandbox answers them itself.
    allowed = true
  elseif probe then
    -- The OpenHands App tab's uncredentialed liveness probe: only worker ports, answered with a
    -- status and no content, from the proxy's own minimal request (no client data reaches the
    -- sandbox, and nothing from the sandbox reaches the anonymous caller).
    if route.kind ~= "worker" then
      return respond.error(401, "unauthenticated", "Open this workspace from OpenHands to sign in to it.")
    end
    ngx.header["Access-Control-Allow-Origin"] = APP_ORIGIN
    ngx.header["Vary"] = "Origin"
    if worker_answers(route, host) then
      ngx.header["Content-Type"] = "text/plain"
      ngx.status = 200
      return ngx.exit(ngx.HTTP_OK)
    end
    return respond.error(502, "upstream_unreachable", "Nothing answers on this port yet.")
  end
  if not allowed then
    log_refusal("runtime request", who and "signed user is not the owner" or "session key mismatch")
    return respond.error(403, "not_yours", "This workspace belongs to someone else.")
  end

  use_peer(route.ip, route.port, "rt:" .. host)
  activity.record(route.owner)
  strip_credentials(headers)
end

function M.runtime_header_filter()
  local h = ngx.header
  h["Cache-Control"] = "no-store"
  h["Referrer-Policy"] = "no-referrer"
  -- Only the OpenHands app may frame a sandbox page (clickjacking, phishing frames).
  local ours = "frame-ancestors " .. APP_ORIGIN
  local csp = h["Content-Security-Policy"]
  if type(csp) == "table" then
    csp[#csp + 1] = ours
    h["Content-Security-Policy"] = csp
  elseif csp then
    h["Content-Security-Policy"] = { csp, ours }
  else
    h["Content-Security-Policy"] = ours
  end
  -- A sandbox may not set cookies for parent domains through its responses (cookie tossing).
  local set_cookie = h["Set-Cookie"]
  if set_cookie then
    local list = type(set_cookie) == "table" and set_cookie or { set_cookie }
    for i, value in ipairs(list) do list[i] = value:gsub(";%s*[Dd][Oo][Mm][Aa][Ii][Nn]=[^;]*", "") end
    h["Set-Cookie"] = list
  end
end

------------------------------------------------------------------------------------------------
-- Shared.

function M.balance()
  local ctx = ngx.ctx
  local ok, err = balancer.set_current_peer(ctx.peer_ip, ctx.peer_port)
  if not ok then
    write_log(ngx.ERR, "cannot set the upstream peer: ", tostring(err))
    return ngx.exit(500)
  end
end

--- error_page for 502/504 from the upstream: forget the route so the next request asks again.
function M.upstream_failed()
  local route_key = ngx.var.oh_route_key
  routes.forget(route_key)
  write_log(ngx.WARN, "upstream for ", route_key, " failed (", tostring(ngx.var.upstream_status), "); route forgotten")
  -- A browser on the app host reloads by itself: the next request asks the spawner again.
  local refresh = route_key:sub(1, 4) == "app:" and 3 or nil
  return respond.error(502, "upstream_unreachable", "The workspace did not answer. It may be restarting; try again.", nil, refresh)
end

function M.health()
  local response = spawner.request("GET", "/healthz", nil, S.healthTimeoutMs)
  local spawner_state = (response and response.status == 200) and "ok" or "unreachable"
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print('{"nginx":"ok","spawner":"' .. spawner_state .. '"}\n')
end

function M.unknown_host()
  return respond.error(404, "unknown_host", "This host name is not served here.")
end

return M
