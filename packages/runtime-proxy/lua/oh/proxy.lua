-- The nginx-facing entry points: one function per phase and server (app host, runtime hosts,
-- health, anything else). Decisions are made here; parsing and crypto live in the pure modules.
local cjson = require "cjson.safe"
local balancer = require "ngx.balancer"
local lrucache = require "resty.lrucache"
local activity = require "oh.activity"
local b64url = require "oh.b64url"
local cookies = require "oh.cookies"
local crypto = require "oh.crypto"
local identity = require "oh.identity"
local limits = require "oh.limits"
local log = require "oh.log"
local origin = require "oh.origin"
local pages = require "oh.pages"
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
local PREFIX      -- users' subnets: <PREFIX>.N.0/24
local TASK_SUBNETS -- ECS mode: the task subnets ({ base, size } pairs); empty in docker mode
local KINDS = { ["agent-server"] = true, vscode = true, worker = true, unknown = true }
-- Per worker: identities that verified (until they expire), and parsed forms of cached route values
-- (keyed by the exact value text read from the shared dict, so a changed route is parsed afresh).
local IDENTITIES, PARSED_ROUTES, PARSED_PEERS
-- Per worker: runtime host names that parsed (keyed by the exact name), and session keys that hashed to
-- a route's sessionKeySha256 (keyed by that hash and the exact key presented).
local PARSED_HOSTS, GOOD_SESSION_KEYS
-- Per worker (ECS mode): internal sandbox names that parsed, with the public runtime host each stands for.
local PARSED_INTERNAL

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
  PREFIX = S.userSubnetPrefix
  TASK_SUBNETS = upstream.subnets(S.taskSubnets)
  spawner.configure(S.spawnerUrl, S.spawnerTimeoutMs)
  pages.configure(S.appHost)
end

function M.init_worker()
  routes.init("oh_routes", #TASK_SUBNETS > 0)
  IDENTITIES = assert(lrucache.new(2048))
  PARSED_ROUTES = assert(lrucache.new(1024))
  PARSED_PEERS = assert(lrucache.new(1024))
  PARSED_HOSTS = assert(lrucache.new(1024))
  GOOD_SESSION_KEYS = assert(lrucache.new(1024))
  PARSED_INTERNAL = assert(lrucache.new(1024))
  activity.init("oh_activity")
  limits.init("oh_limits")
  activity.start(S.activityFlushSeconds)
  log.start(0.2)
end

-- Removes what must not travel further: every x-oh-* header (identity spoofing toward the app or
-- a sandbox) and our own cookies (session theft by sandbox code).
-- The five identity headers are dropped by nginx itself (proxy_set_header ... "" in nginx.conf.template,
-- every copy); any other x-oh-* name is cleared here.
local DROPPED_BY_NGINX = {
  ["x-oh-user"] = true, ["x-oh-user-slug"] = true, ["x-oh-email"] = true, ["x-oh-exp"] = true, ["x-oh-sig"] = true,
}

local byte, find = string.byte, string.find

local function strip_credentials(headers)
  for name in pairs(headers) do
    if byte(name, 1) == 120 and find(name, "x-oh-", 1, true) == 1 and not DROPPED_BY_NGINX[name] then ngx.req.clear_header(name) end
  end
  local cookie = headers.cookie
  -- Every name of ours holds "oh-" or "oh_" in some case (cookies.ours): without one, nothing is removed.
  if cookie ~= nil and (type(cookie) ~= "string" or find(cookie, "[oO][hH][-_]")) then
    ngx.req.set_header("Cookie", cookies.strip(cookie))
  end
end

local function use_peer(ip, port, method, headers)
  local ctx = ngx.ctx
  ctx.peer_ip, ctx.peer_port = ip, port
  -- Raw tunnels to the upstream (Upgrade: h2c, upgrades on other methods): only an authorised GET becomes a WebSocket.
  if headers.upgrade ~= nil and origin.upgrade_to_forward(method, headers) then
    ngx.var.oh_upgrade = "websocket"
    ngx.var.oh_connection = "upgrade"
    -- A WebSocket may stay quiet for long: streamSeconds instead of the plain requests' upstreamReadSeconds.
    ctx.stream = true
  end
end

-- Set-Cookie from the app or a sandbox: no Domain attribute, none of our names (cookie tossing).
local function filter_set_cookies()
  local set_cookie = ngx.header["Set-Cookie"]
  if set_cookie then
    local filtered = cookies.filter_set_cookies(set_cookie)
    if filtered then ngx.header["Set-Cookie"] = #filtered > 0 and filtered or nil end
  end
end

local write_log = log.write

-- Every header, however many: with a cap, x-oh-* headers past it would escape strip_credentials
-- (identity spoofing toward the app or a sandbox). nginx bounds the total by large_client_header_buffers.
-- The names are lower case already; the table's metatable only serves other spellings, and every
-- lookup of an absent header through it costs a lower() and a character replacement, so it is removed.
-- Not as a tail call: LuaJIT cannot compile a return right after a tail-called setmetatable, and the
-- rest of the access phase would then run in the interpreter.
local get_headers = ngx.req.get_headers
local function all_headers()
  local headers = get_headers(0)
  setmetatable(headers, nil)
  return headers
end

local function log_refusal(what, reason)
  write_log(ngx.WARN, "refused ", what, ": ", reason, " host=", tostring(ngx.var.http_host), " uri=", ngx.var.uri)
end

-- The Host header must be the name nginx routed on, byte for byte: an absolute-form request target
-- naming another host, or a mixed-case Host, would otherwise split routing from what was signed.
local function exact_host(headers)
  local host
  if headers then host = headers.host else host = ngx.var.http_host end
  if type(host) ~= "string" or host ~= ngx.var.host then return nil end
  return host
end

------------------------------------------------------------------------------------------------
-- App host: the signed user's own OpenHands, started on demand by the spawner.

local function ensure(who)
  -- requestId: the spawner logs the start under it, and the page of a failed start shows it (README "Pages").
  local response, err = spawner.request("POST", "/v1/users/" .. who.slug .. "/ensure",
    { sub = who.sub, email = who.email, requestId = ngx.var.request_id })
  if not response then return nil, err end
  local body = type(response.json) == "table" and response.json or {}
  if response.status == 202 or (response.status == 200 and body.state == "starting") then
    return { state = "starting", retryAfterMs = tonumber(body.retryAfterMs), progress = body.progress }
  end
  if response.status == 200 and body.state == "running" then
    -- SSRF through a spawner answer (loopback, the gateway, a host service, metadata): only <prefix>.N.2:<appPort>.
    local ip, port
    if #TASK_SUBNETS > 0 then
      ip, port = upstream.ecs_app(body.upstream, TASK_SUBNETS, S.appPort)
    else
      ip, port = upstream.app(body.upstream, PREFIX, S.appPort)
    end
    if not ip then return nil, "ensure answered a bad upstream (" .. port .. ")" end
    return { state = "running", peer = ip .. ":" .. port }
  elseif response.status == 503 then
    return { state = "capacity", message = type(body.message) == "string" and body.message or nil, details = body.details }
  elseif response.status == 502 and body.error == "start_failed" then
    -- Markup or log injection through the spawner's answer: a known stage and a plain id, or nothing.
    local id = body.requestId
    return { state = "failed", stage = pages.stage_known(body.stage) and body.stage or nil,
      requestId = type(id) == "string" and #id <= 64 and id:find("^[%w._-]+$") and id or nil }
  end
  return nil, "ensure answered " .. response.status
end

-- One ensure per user and worker at a time. A function of its own: a closure inside app_access would
-- keep LuaJIT from compiling app_access (upvalue closing is not compiled).
local function ensure_once(route_key, who)
  return routes.coalesce(route_key, function() return ensure(who) end, S.spawnerTimeoutMs / 1000 * 2)
end

-- "ip:port" of a cached app route, parsed once per worker and value.
local function parse_peer(peer)
  local parsed = PARSED_PEERS:get(peer)
  if parsed then return parsed end
  local ip, port = peer:match("^(.+):(%d+)$")
  parsed = { ip = ip, port = tonumber(port), net = routes.net_key(ip) }
  PARSED_PEERS:set(peer, parsed)
  return parsed
end

--- @param rewrite the location rewrites sandbox URLs in the answer (nginx.conf.template)
function M.app_access(rewrite)
  local headers = all_headers()
  local host = headers.host
  -- Only the configured app host reaches a user's app (host header confusion). nginx chose this server
  -- because the name it routes on ($host: the request target's host, else Host) is the app host (the
  -- server's only name, not the default server); so Host being exactly the app host means Host and
  -- $host agree, as exact_host checks elsewhere.
  if host ~= S.appHost then
    log_refusal("app request", "host mismatch")
    return respond.error(400, "bad_host", "This host name is not served here.")
  end
  local who, reason = identity.verify_cached(IDENTITIES, KEY, host, headers, ngx.time(), VERIFY_OPTS)
  -- Every app request needs the edge's signed identity (edge bypass, forged or replayed identity).
  if not who then
    log_refusal("app request", "identity " .. reason)
    return respond.error(401, "unauthenticated", "Sign in again: the request carried no valid identity.")
  end

  -- Same-site CSRF: a sandbox page on a runtime subdomain is same-site with the app, so SameSite
  -- cookies do not stop it; a state-changing request must come from the app's own origin. The edge
  -- checks this first; this is the second line.
  -- Cross-site WebSocket hijacking too: handshakes are checked like state-changing requests (API clients send neither header).
  local method = ngx.req.get_method()
  if (method ~= "GET" and method ~= "HEAD" and method ~= "OPTIONS") or origin.is_websocket(headers) then
    if (headers.origin ~= nil or headers["sec-fetch-site"] ~= nil)
        and not origin.allowed(method, headers, APP_ORIGIN, APP_ORIGIN) then
      log_refusal("app request", "cross-site " .. method)
      return respond.error(403, "cross_site", "This request did not come from OpenHands itself.")
    end
  end

  -- The key is kept with the cached identity: no string is built per request.
  local route_key = who.route_key
  if not route_key then
    route_key = "app:" .. who.slug
    who.route_key = route_key
  end
  local peer = routes.get(route_key)
  local parsed = peer and parse_peer(peer)
  -- A cached app route into a subnet the spawner has since given to another user (route crossing users).
  if parsed and routes.net_held_by_other(parsed.net, who.slug) then
    write_log(ngx.WARN, "cached app route of ", who.slug, " points into a reclaimed subnet; asking the spawner again")
    routes.forget(route_key)
    peer = nil
  end
  if not peer then
    local result, err = ensure_once(route_key, who)
    if not result then
      write_log(ngx.ERR, "spawner ensure for ", who.slug, " failed: ", tostring(err))
      return respond.error(503, "spawner_unavailable",
        "The workspace service is not answering. Retrying shortly usually helps.", S.spawnerRetryAfterSeconds)
    end
    if result.state == "starting" then return respond.starting(result.retryAfterMs, result.progress) end
    if result.state == "failed" then
      write_log(ngx.WARN, "start of ", who.slug, " failed at ", tostring(result.stage), " request_id=", tostring(result.requestId))
      return respond.start_failed(result.stage, result.requestId)
    end
    if result.state == "capacity" then
      return respond.capacity(result.message or "The server is at capacity; try again in a minute.", result.details, 60)
    end
    peer = result.peer
    routes.set(route_key, peer, S.routeCacheSeconds)
    routes.claim(peer, who.slug, S.routeCacheSeconds * 2)
    parsed = parse_peer(peer)
  end

  use_peer(parsed.ip, parsed.port, method, headers)
  activity.record(who.slug)
  strip_credentials(headers)
  -- App API answers that carry sandbox URLs (README, "URL rewriting"): nginx sends /api/v1/sandboxes* and
  -- /api/v1/app-conversations* to a location that calls this with rewrite = true.
  if rewrite then
    ngx.ctx.rewriter = url_rewrite.new(who.slug, S.runtimeDomain, S.sandboxDomain)
    -- The body is rewritten on the way back, so it must arrive uncompressed.
    ngx.req.clear_header("Accept-Encoding")
  end
end

function M.app_header_filter()
  filter_set_cookies()
end

--- Header filter of the rewritten locations: Set-Cookie, then the rewriter's decisions.
function M.app_rewrite_header_filter()
  filter_set_cookies()
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

--- GET /_oh/start-status on the app host: the signed user's own start, for the starting page's script.
function M.start_status()
  local host = exact_host()
  if host ~= S.appHost then return respond.error(400, "bad_host", "This host name is not served here.") end
  local who, reason = identity.verify_cached(IDENTITIES, KEY, host, all_headers(), ngx.time(), VERIFY_OPTS)
  -- Reading another user's start (progress, timing): the slug asked for is the signed one and nothing from the request.
  if not who then
    log_refusal("start status", "identity " .. reason)
    return respond.error(401, "unauthenticated", "Sign in again: the request carried no valid identity.")
  end
  local response, err = spawner.request("GET", "/v1/users/" .. who.slug .. "/start")
  if not response or response.status ~= 200 then
    write_log(ngx.ERR, "spawner start status for ", who.slug, " failed: ", tostring(err or response.status))
    return respond.error(503, "spawner_unavailable", "The workspace service is not answering.", S.spawnerRetryAfterSeconds)
  end
  return respond.json(200, pages.status_view(response.json))
end

------------------------------------------------------------------------------------------------
-- Runtime hosts: a sandbox port, reachable by its owner or with the sandbox's session key.

-- A cached route value, parsed once per worker and value text. Callers do not modify the table.
local function decode_route(value)
  local route = PARSED_ROUTES:get(value)
  if route then return route end
  local owner, ip, port, kind, hash = value:match("^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$")
  route = { owner = owner, ip = ip, port = tonumber(port), kind = kind, hash = hash, net = routes.net_key(ip) }
  PARSED_ROUTES:set(value, route)
  return route
end

local function lookup(host, route_key)
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
    -- SSRF through a spawner answer (loopback, the gateway, the app, a host service): only <prefix>.N.128-254.
    local ip, port
    if #TASK_SUBNETS > 0 then
      ip, port = upstream.ecs_sandbox(body.upstream, TASK_SUBNETS)
    else
      ip, port = upstream.sandbox(body.upstream, PREFIX)
    end
    local hash = body.sessionKeySha256
    if hash == cjson.null or hash == nil then hash = "" end
    if not ip or type(body.owner) ~= "string" or not body.owner:find("^[a-z2-7]+$") or #body.owner ~= 16
        or not KINDS[body.kind] or type(hash) ~= "string" or not (hash == "" or hash:find("^%x+$") and #hash == 64) then
      return nil, "resolve answered a malformed route (" .. tostring(ip and "fields" or port) .. ")"
    end
    local value = body.owner .. "|" .. ip .. "|" .. port .. "|" .. body.kind .. "|" .. hash:lower()
    routes.set(route_key, value, S.routeCacheSeconds)
    routes.claim(ip, body.owner, S.routeCacheSeconds * 2)
    return decode_route(value)
  end, S.spawnerTimeoutMs / 1000 * 2)
end

--- @param anonymous the caller has no signed identity: a cache miss costs it one lookup of its budget
--- @param client the budget's key; default $oh_client (the internal listener passes the TCP peer)
--- @return route, or false (no such route), or nil, err, or nil, "limited"
local function resolve(host, route_key, anonymous, client)
  local cached = routes.get(route_key)
  if cached == "-" then return false end
  if cached then
    local route = decode_route(cached)
    -- A cached sandbox route into a subnet the spawner has since given to another user (route crossing users).
    if not routes.net_held_by_other(route.net, route.owner) then return route end
    write_log(ngx.WARN, "cached route of ", host, " points into a reclaimed subnet; asking the spawner again")
    routes.forget(route_key)
  end
  -- Port enumeration and spawner load from callers without an identity: lookups are bounded per client.
  if anonymous and not limits.take_lookup(client or ngx.var.oh_client or "", S.lookupsPerClientPerMinute) then
    return nil, "limited"
  end
  return lookup(host, route_key)
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

local function no_credential()
  return respond.error(401, "unauthenticated", "Open this workspace from OpenHands to sign in to it.")
end

-- Port enumeration with a session key: one answer for no such port, another user's port and a wrong key.
local function not_found()
  return respond.error(404, "sandbox_not_found", "No running sandbox answers at this address.")
end

local function probe_inactive()
  return respond.error(502, "upstream_unreachable", "Nothing answers on this port yet.")
end

-- runtime_host.parse, remembered per worker for names that parsed (the result depends on the name only).
local function parse_runtime_host(host)
  if host == nil then return nil, "missing host" end
  local parsed = PARSED_HOSTS:get(host)
  if parsed then return parsed end
  local why
  parsed, why = runtime_host.parse(host, S.runtimeDomain)
  if parsed then
    parsed.route_key = "rt:" .. host
    PARSED_HOSTS:set(host, parsed)
  end
  return parsed, why
end

-- Whether `key` hashes to the route's sessionKeySha256. A key that matched is remembered per worker
-- with the hash it matched, so only the same key for a route with the same hash skips the hashing.
local function session_key_matches(key, hash)
  if hash == "" then return false end
  if GOOD_SESSION_KEYS:get(key) == hash then return true end
  local ok = crypto.constant_time_equals(crypto.sha256_hex(key), hash)
  if ok then GOOD_SESSION_KEYS:set(key, hash) end
  return ok
end

function M.runtime_access()
  local headers = all_headers()
  local host = exact_host(headers)
  local parsed, why = parse_runtime_host(host)
  -- Strict host pattern before anything else (look-alike, mixed-case, extra-label and unicode hosts).
  if not host or not parsed then
    log_refusal("runtime request", why or "host mismatch")
    return respond.error(400, "bad_host", "This is not a valid workspace address.")
  end
  local method = ngx.req.get_method()

  -- Anonymous "preflights" smuggling requests or h2c tunnels to a sandbox and postponing its cull: answered here.
  if origin.is_preflight(method, headers) then
    for name, value in pairs(origin.preflight_headers(headers, APP_ORIGIN, "https://" .. host)) do ngx.header[name] = value end
    return ngx.exit(204)
  end

  local who, reason = identity.verify_cached(IDENTITIES, KEY, host, headers, ngx.time(), VERIFY_OPTS)
  -- An identity that is present must be valid (forged, expired, or minted for another host).
  if not who and reason ~= "missing" then
    log_refusal("runtime request", "identity " .. reason)
    return respond.error(401, "unauthenticated", "Sign in again: the request carried no valid identity.")
  end
  -- A signed user on a host of their own slug is decided by the identity alone (below: allowed when
  -- the route's owner is the slug, refused otherwise), so the key is not looked for.
  local key
  if not (who and who.slug == parsed.slug) then key = presented_session_key(headers) end
  if (who or key ~= nil) and not origin.safe(method, headers) then
    -- Cross-site requests and WebSocket hijacking with the caller's credentials: only from this host or the app.
    if not origin.from(headers, "https://" .. host, APP_ORIGIN) then
      log_refusal("runtime request", "cross-site " .. method)
      return respond.error(403, "cross_site", "This request did not come from this workspace or OpenHands.")
    end
  end
  local probe = not who and key == nil and (method == "GET" or method == "HEAD")
    and headers.origin == APP_ORIGIN and not origin.is_websocket(headers)
  -- Without identity or session key nothing is looked up (anonymous enumeration).
  if not who and key == nil and not probe then
    log_refusal("runtime request", "no credential")
    return no_credential()
  end
  -- A signed user on another user's slug: refused before any lookup (enumeration of others' ports).
  if who and who.slug ~= parsed.slug and key == nil then
    log_refusal("runtime request", "signed user is not the host's owner")
    return respond.error(403, "not_yours", "This workspace belongs to someone else.")
  end

  local route, err = resolve(host, parsed.route_key, not who)
  if route == nil then
    if err == "limited" then
      log_refusal("runtime request", "lookup budget spent")
      return respond.error(429, "too_many_lookups", "Too many workspace addresses asked for; wait a minute.", 60)
    end
    write_log(ngx.ERR, "spawner resolve for ", host, " failed: ", tostring(err))
    return respond.error(503, "spawner_unavailable",
      "The workspace service is not answering. Retrying shortly usually helps.", S.spawnerRetryAfterSeconds)
  end

  if probe then
    -- The OpenHands App tab's uncredentialed liveness probe: only worker ports, answered with a
    -- status and no content, from the proxy's own minimal request (no client data reaches the
    -- sandbox, and nothing from the sandbox reaches the anonymous caller). Every other case gets
    -- the same 502 as a silent worker (port enumeration).
    ngx.header["Access-Control-Allow-Origin"] = APP_ORIGIN
    ngx.header["Vary"] = "Origin"
    if route and route.owner == parsed.slug and route.kind == "worker" and worker_answers(route, host) then
      ngx.header["Content-Type"] = "text/plain"
      ngx.status = 200
      return ngx.exit(ngx.HTTP_OK)
    end
    return probe_inactive()
  end

  if route == false then
    if not who then return not_found() end
    return respond.error(404, "sandbox_not_found", "No running sandbox answers at this address.")
  end
  -- The slug in the name must own the port: another user's sandbox port put under one's own slug.
  if route.owner ~= parsed.slug then
    log_refusal("runtime request", "host slug is not the route owner")
    if not who then return not_found() end
    return respond.error(403, "not_yours", "This workspace belongs to someone else.")
  end

  local allowed = false
  if who and who.slug == route.owner then
    allowed = true
  elseif key then
    -- Session key check against the spawner's hash (access to another user's sandbox, key guessing).
    allowed = session_key_matches(key, route.hash)
  end
  if not allowed then
    log_refusal("runtime request", who and "signed user is not the owner" or "session key mismatch")
    if not who then return not_found() end
    return respond.error(403, "not_yours", "This workspace belongs to someone else.")
  end

  use_peer(route.ip, route.port, method, headers)
  activity.record(route.owner)
  strip_credentials(headers)
end

------------------------------------------------------------------------------------------------
-- Internal listener (ECS mode, internalListen): a user's OpenHands calling its sandbox's agent-server by the name it
-- was given, http://<p>-<slug>.<sandboxDomain>. The same route as the public <p>-<slug>.<runtimeDomain>.

-- "<p>-<slug>.<sandbox domain>" -> { slug, public (the runtime host), route_key }, or nil. Remembered per worker.
local function parse_internal_host(host)
  if host == nil then return nil end
  local parsed = PARSED_INTERNAL:get(host)
  if parsed then return parsed end
  -- runtime_host.parse is strict: one label "<port>-<16-character slug>", lower case, no leading zero, so the
  -- derived names (vscode-, work-1-, work-2-) and anything with more labels or another suffix are refused.
  local name = runtime_host.parse(host, S.sandboxDomain)
  -- A first route port whose four would pass 65535 was never given out (docs/ecs.md, "Departures").
  if not name or name.port + 3 > 65535 then return nil end
  local public = name.port .. "-" .. name.slug .. "." .. S.runtimeDomain
  parsed = { slug = name.slug, public = public, route_key = "rt:" .. public }
  PARSED_INTERNAL:set(host, parsed)
  return parsed
end

-- What OpenHands polls without a key while a sandbox starts (wait_for_sandbox_running: GET <url>/alive), and the
-- agent-server's health: the whole request target, byte for byte.
local KEYLESS = { ["/alive"] = true, ["/health"] = true }
local AGENT_SERVER_PORT = 60000

local function internal_not_found()
  return respond.error(404, "sandbox_not_found", "No running sandbox answers at this address.")
end

function M.internal_access()
  local headers = all_headers()
  -- Host confusion: Host must be exactly the name nginx routed on (a port, upper case or an absolute-form target
  -- naming another host differ from $host), and only an agent-server name of the sandbox domain is served: the
  -- public runtime names, vscode-/work-N- names (browsers open those through the public hosts) and the rest get 404.
  local parsed = parse_internal_host(exact_host(headers))
  if not parsed then
    log_refusal("internal request", "not an agent-server name of the sandbox domain")
    return internal_not_found()
  end
  local method = ngx.req.get_method()
  -- API calls smuggled past the key as a health poll (/alive/../api, /alive?x, //alive): only the exact targets.
  local keyless = method == "GET" and KEYLESS[ngx.var.request_uri] == true
  local key = presented_session_key(headers)
  -- Anonymous enumeration of sandboxes (and spawner load): without a key nothing else is looked up.
  if not keyless and not key then
    log_refusal("internal request", key == false and "malformed session key" or "no session key")
    return respond.error(401, "unauthenticated", "This sandbox needs its session key (X-Session-API-Key).")
  end
  -- Lookup flooding with made-up names: bounded per TCP peer (X-Forwarded-For is the caller's own claim here).
  local route, err = resolve(parsed.public, parsed.route_key, true, ngx.var.binary_remote_addr)
  if route == nil then
    if err == "limited" then
      log_refusal("internal request", "lookup budget spent")
      return respond.error(429, "too_many_lookups", "Too many sandbox addresses asked for; wait a minute.", 60)
    end
    -- Also a spawner answer naming an upstream outside the task subnets or off the sandbox ports (SSRF): lookup refuses it.
    write_log(ngx.ERR, "spawner resolve for ", parsed.public, " (internal) failed: ", tostring(err))
    return respond.error(503, "spawner_unavailable", "The workspace service is not answering.", S.spawnerRetryAfterSeconds)
  end
  if route == false then return internal_not_found() end
  -- Another user's sandbox port put under one's own slug (route crossing users): the slug must own the port.
  if route.owner ~= parsed.slug then
    log_refusal("internal request", "name slug is not the route owner")
    return internal_not_found()
  end
  -- A VS Code or worker port (p+1..p+3) asked for by its number as an agent-server name: agent-server routes only.
  if route.kind ~= "agent-server" then
    log_refusal("internal request", "route is a " .. route.kind .. ", not an agent-server")
    return internal_not_found()
  end
  -- A route steered at another service of a task (the task subnets were checked by lookup): the agent-server's port only.
  if route.port ~= AGENT_SERVER_PORT then
    log_refusal("internal request", "route port " .. route.port .. " is not the agent-server's")
    return internal_not_found()
  end
  -- Another user's key, a wrong or guessed key: compared with the spawner's hash of this sandbox's key.
  if not keyless and not session_key_matches(key, route.hash) then
    log_refusal("internal request", "session key mismatch")
    return internal_not_found()
  end
  use_peer(route.ip, route.port, method, headers)
  -- Identity spoofing toward the agent-server (x-oh-* names) and our cookies: removed, as on every server.
  strip_credentials(headers)
end

-- Cache-Control: no-store, Referrer-Policy and the CSP's frame-ancestors (clickjacking) are set by nginx
-- (proxy_hide_header and add_header in the runtime server), so this filter reads one header per answer.
function M.runtime_header_filter()
  filter_set_cookies()
end

------------------------------------------------------------------------------------------------
-- Shared.

function M.balance()
  local ctx = ngx.ctx
  local ok, err = balancer.set_current_peer(ctx.peer_ip, ctx.peer_port)
  if ok and ctx.stream then ok, err = balancer.set_timeouts(nil, S.streamSeconds, S.streamSeconds) end
  if not ok then
    write_log(ngx.ERR, "cannot set the upstream peer: ", tostring(err))
    return ngx.exit(500)
  end
end

-- The answer when the upstream failed and the spawner, asked again, still names a route (or cannot say).
local function upstream_error(timed_out, refresh)
  if timed_out then
    -- A paused container accepts connections and never answers: bounded by upstreamReadSeconds (README).
    return respond.error(504, "upstream_timeout", "The workspace did not answer within " .. S.upstreamReadSeconds
      .. " seconds. It may be paused or busy; try again.", nil, refresh)
  end
  return respond.error(502, "upstream_unreachable", "The workspace did not answer. It may be restarting; try again.", nil, refresh)
end

--- error_page for 502/504 from the upstream: the route is forgotten and the spawner asked again at once,
--- so a stopped, killed or paused container gets a clear answer now (starting page, no such sandbox)
--- rather than on the next request.
--- @param server "app", "runtime" or "internal", the server whose request failed (nginx.conf.template)
function M.upstream_failed(server)
  local status = tostring(ngx.var.upstream_status)
  local timed_out = find(status, "504", 1, true) ~= nil
  -- The request passed app_access or runtime_access before it was proxied, so the signed slug or the
  -- runtime host names its route (kept out of an nginx variable: a variable write on every request).
  local headers = all_headers()
  local route_key, internal
  if server == "app" then
    route_key = "app:" .. tostring(headers["x-oh-user-slug"])
  elseif server == "internal" then
    internal = parse_internal_host(headers.host)
    route_key = internal and internal.route_key or "rt:-"
  else
    route_key = "rt:" .. tostring(headers.host)
  end
  routes.forget(route_key)
  write_log(ngx.WARN, "upstream for ", route_key, " failed (", status, "); route forgotten, asking the spawner again")
  if server == "app" then
    -- A browser on the app host reloads by itself. The identity is checked again (the internal redirect
    -- to this location keeps the request's headers, not the access phase's result).
    local who = identity.verify_cached(IDENTITIES, KEY, headers.host, headers, ngx.time(), VERIFY_OPTS)
    local result = who and ensure_once(route_key, who)
    if result and result.state == "starting" then return respond.starting(result.retryAfterMs, result.progress) end
    if result and result.state == "failed" then return respond.start_failed(result.stage, result.requestId) end
    if result and result.state == "capacity" then
      return respond.capacity(result.message or "The server is at capacity; try again in a minute.", result.details, 60)
    end
    -- Running (the spawner has not seen the failure yet) or no answer: the next request asks again.
    return upstream_error(timed_out, 3)
  end
  local host = internal and internal.public or headers.host
  local parsed = parse_runtime_host(host)
  local route = parsed and resolve(host, parsed.route_key, false)
  if route == false then
    -- The spawner no longer routes this port: the sandbox stopped, was killed or was paused.
    return respond.error(404, "sandbox_not_found", "No running sandbox answers at this address. "
      .. "It may have been stopped or paused; open its conversation in OpenHands to resume it.")
  end
  return upstream_error(timed_out, nil)
end

-- GET /_oh/health, for the ALB and the host watchdog (README "Health"):
--   200 {"nginx":"ok","spawner":"ok"}                            the spawner answers and its dependencies too
--   200 {"nginx":"ok","spawner":"degraded","failing":[names]}    it answers, a dependency does not (PostgreSQL, Docker):
--                                                                 replacing the host would not bring a database back
--   503 {"nginx":"ok","spawner":"unreachable"|"not_answering"}   the process is gone or hung: the watchdog restarts it,
--                                                                 the ALB replaces the host only if that does not help
-- Spawner flooding through the unauthenticated /_oh/health: one probe per worker and second at most.
local health_body, health_status, health_at, health_probing = '{"nginx":"ok","spawner":"unreachable"}', 503, -1, false

local function probe_spawner()
  local ok, response, err = pcall(spawner.request, "GET", "/healthz", nil, S.healthTimeoutMs)
  if not ok or not response then
    local reason = tostring(ok and err or response)
    -- connected but no answer in time: hung (blocked event loop); anything else: not there
    local state = reason:find("timeout", 1, true) and not reason:find("connect:", 1, true) and "not_answering" or "unreachable"
    return 503, { nginx = "ok", spawner = state }
  end
  local report = type(response.json) == "table" and response.json or nil
  if response.status == 200 and report and report.status == "ok" then
    return 200, { nginx = "ok", spawner = "ok" }
  end
  if (response.status == 200 or response.status == 503) and report and report.status == "degraded" and type(report.checks) == "table" then
    local failing = {}
    for name, check in pairs(report.checks) do
      -- Header/log injection through the spawner's answer: only plain check names are repeated.
      if type(name) == "string" and name:match("^[a-z][a-z0-9_]*$") and #name <= 32 and type(check) == "table" and check.ok ~= true then
        failing[#failing + 1] = name
      end
    end
    table.sort(failing)
    return 200, { nginx = "ok", spawner = "degraded", failing = setmetatable(failing, cjson.array_mt) }
  end
  -- An answer that is not the spawner's health report (wrong status or body): something else, or broken.
  return 503, { nginx = "ok", spawner = "unreachable" }
end

function M.health()
  if ngx.now() - health_at >= 1 and not health_probing then
    health_probing = true
    local ok, status, report = pcall(probe_spawner)
    health_probing = false
    if not ok then status, report = 503, { nginx = "ok", spawner = "unreachable" } end
    health_status, health_body, health_at = status, cjson.encode(report) .. "\n", ngx.now()
  end
  ngx.status = health_status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print(health_body)
end

function M.unknown_host()
  return respond.error(404, "unknown_host", "This host name is not served here.")
end

return M
