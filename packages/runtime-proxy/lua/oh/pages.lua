-- The pages a person meets from the proxy itself (README "Pages"): the starting page with the start's real
-- progress, a start that failed, the host at capacity, and the refusals, each in words with the one useful next
-- step. The look (stylesheet, layout) is the one the edge's pages use (oh/page_assets.lua, written from
-- packages/contracts at build time). The building of pages is pure; send() and the script need nginx.
local assets = require "oh.page_assets"
local b64url = require "oh.b64url"
local crypto = require "oh.crypto"

local M = {}

local APP_ORIGIN = "/"
local APP_HOST

--- @param app_host the OpenHands host; the runtime hosts' pages link back to it
function M.configure(app_host)
  APP_HOST = app_host
  APP_ORIGIN = "https://" .. app_host .. "/"
end

function M.is_app_host(host)
  return host ~= nil and host == APP_HOST
end

local ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

function M.escape(s)
  return (tostring(s):gsub("[&<>\"']", ESCAPES))
end
local escape = M.escape

--- The page in the shared layout. @param main and head are safe HTML already
function M.render(title, main, head)
  local slots = { title = escape(title), head = head or "", main = main, style = assets.style }
  -- One pass over the layout with a function: a slot's value is never read as a pattern or searched again.
  return (assets.layout:gsub("{{(%a+)}}", function(name) return slots[name] end))
end

-- Open redirect through the page's retry link or script (a request for //evil.example/ or /\evil.example/ would
-- become a link off this host): only a path on this host, anything else becomes "/".
function M.safe_path(uri)
  if type(uri) ~= "string" or #uri > 4096 or uri:sub(1, 1) ~= "/" then return "/" end
  local second = uri:sub(2, 2)
  if second == "/" or second == "\\" then return "/" end
  if uri:find("[%z\1-\32\127\\]") then return "/" end
  return uri
end

------------------------------------------------------------------------------------------------
-- Starting.

-- What each stage of the spawner's start (packages/spawner/src/start-progress.ts) means to the person waiting.
local STAGES = {
  { id = "waiting", label = "Getting ready" },
  { id = "database", label = "Preparing your conversation storage" },
  { id = "folders", label = "Preparing your workspace folder" },
  { id = "network", label = "Setting up your private network" },
  { id = "docker-api", label = "Preparing your sandbox controls" },
  { id = "relay", label = "Connecting your sandboxes to OpenHands" },
  { id = "container", label = "Starting your OpenHands" },
  { id = "health", label = "Waiting for OpenHands to answer" },
  { id = "settings", label = "Setting up your model access" },
}
local STAGE_INDEX = {}
for i, stage in ipairs(STAGES) do STAGE_INDEX[stage.id] = i end

-- What failed, in words a person can pass on; the details are in the logs under the request id.
local FAILED = {
  database = "Your conversation storage (the database) could not be prepared.",
  folders = "Your workspace folder could not be prepared.",
  network = "The server could not set up the private network of your OpenHands.",
  ["docker-api"] = "The server could not set up the sandbox controls of your OpenHands.",
  relay = "The server could not connect your sandboxes to your OpenHands.",
  container = "The server could not start your OpenHands.",
  health = "Your OpenHands started but did not answer in time.",
}

function M.stage_known(id)
  return STAGE_INDEX[id] ~= nil
end

--- "42 s" below a minute and a half, "3 min" above.
function M.duration(ms)
  local seconds = math.floor((tonumber(ms) or 0) / 1000 + 0.5)
  if seconds < 90 then return seconds .. " s" end
  return math.floor(seconds / 60 + 0.5) .. " min"
end

local function steps_html(current, failed)
  local index = STAGE_INDEX[current] or 1
  local items = {}
  for i = 2, #STAGES do
    local class = i < index and "done" or (i == index and (failed and "failed" or "now") or "")
    items[#items + 1] = '<li data-stage="' .. STAGES[i].id .. '"' .. (class ~= "" and (' class="' .. class .. '"') or "")
      .. ">" .. escape(STAGES[i].label) .. "</li>"
  end
  return '<ol class="steps">' .. table.concat(items) .. "</ol>"
end

--- The starting page. @param progress the spawner's start report (may be nil or partial)
--- @param path the request's path (made safe here) @param refresh_seconds the no-script reload interval
function M.starting(progress, path, refresh_seconds)
  progress = type(progress) == "table" and progress or {}
  local stage = M.stage_known(progress.stage) and progress.stage or "waiting"
  local elapsed, typical = tonumber(progress.elapsedMs), tonumber(progress.typicalMs)
  local timing = elapsed and ("Started " .. M.duration(elapsed) .. " ago.") or "Started just now."
  local usual = typical and (" A start usually takes about " .. M.duration(typical) .. " here.")
    or " The first start on a new server takes a minute or two."
  local bar = "<progress></progress>"
  if typical then
    bar = '<progress max="' .. math.floor(typical) .. '" value="' .. math.floor(math.min(elapsed or 0, typical)) .. '"></progress>'
  end
  local main = '<div id="oh-start" data-status="/_oh/start-status" data-next="' .. escape(M.safe_path(path))
    .. '" data-typical="' .. (typical and math.floor(typical) or "") .. '" data-elapsed="' .. math.floor(elapsed or 0) .. '">'
    .. "<h1>Starting your OpenHands</h1>"
    .. '<p>Your own OpenHands is being prepared. You go on to the page you asked for as soon as it is ready.</p>'
    .. bar .. steps_html(stage, false)
    .. '<p class="muted" id="oh-start-timing">' .. escape(timing .. usual) .. "</p>"
    .. '<noscript><p class="muted">This page reloads by itself every ' .. refresh_seconds .. " seconds.</p></noscript></div>"
  -- Without scripts the page reloads itself; with them the script updates it in place (a reload would restart its timer).
  local head = '<noscript><meta http-equiv="refresh" content="' .. refresh_seconds .. '"></noscript>'
    .. '<script src="/_oh/pages/starting.js" defer></script>'
  return M.render("Starting your OpenHands", main, head)
end

--- A start that failed. @param stage the stage it failed in @param request_id the id of the start in the logs
function M.start_failed(stage, request_id, path)
  local what = FAILED[stage] or "Something went wrong while starting your OpenHands."
  local main = "<h1>Your OpenHands could not start</h1><p>" .. escape(what) .. "</p>"
    .. "<p>Trying again often helps. Your conversations and files are kept.</p>"
    .. '<div class="actions"><a class="button" href="' .. escape(M.safe_path(path)) .. '">Try again</a></div>'
  if type(request_id) == "string" and request_id ~= "" then
    main = main .. '<p class="muted">If it fails again, give your admin this request id: <code id="oh-request-id">'
      .. escape(request_id) .. "</code></p>"
  end
  return M.render("Your OpenHands could not start", main)
end

--- The host runs as many OpenHands as it may. @param details {running, starting, max, reason} from the spawner
function M.capacity(details, path, retry_seconds)
  details = type(details) == "table" and details or {}
  local running, max = tonumber(details.running), tonumber(details.max)
  local why
  if details.reason == "memory" then
    why = "The server has no memory left for another OpenHands right now."
  elseif running and max then
    why = "The server is full: " .. math.floor(running) .. " of " .. math.floor(max) .. " OpenHands are running or starting."
  else
    why = "The server is full right now."
  end
  local main = "<h1>The server is full</h1><p>" .. escape(why) .. "</p>"
    .. "<p>An OpenHands nobody has used for a while is stopped by itself, which makes room. This page tries again every "
    .. retry_seconds .. " seconds; if it stays full, ask your admin for a larger server.</p>"
    .. '<div class="actions"><a class="button" href="' .. escape(M.safe_path(path)) .. '">Try again now</a></div>'
  local head = '<meta http-equiv="refresh" content="' .. retry_seconds .. '">'
  return M.render("The server is full", main, head)
end

-- Refusals and other answers, by the proxy's error code: a heading, what happened, and the next step.
--   action: "signin" (the app host's start page signs in again), "app" (back to OpenHands), "retry" (this page)
local REFUSALS = {
  unauthenticated = { "You are not signed in", "Your sign-in has ended or did not reach the server.", "signin", "Sign in" },
  runtime_unauthenticated = { "Open this from OpenHands",
    "This address belongs to a workspace of a conversation. Open it from the conversation in OpenHands, which signs you in to it.",
    "app", "Go to your OpenHands" },
  not_yours = { "This workspace belongs to someone else",
    "You are signed in, but this conversation's workspace is another person's. Nobody else can open yours either.",
    "app", "Go back to your OpenHands" },
  sandbox_not_found = { "This workspace is not running",
    "It may have been stopped because nobody used it for a while, or its conversation was deleted. Open the conversation "
      .. "in OpenHands again to start it; your files are kept.",
    "app", "Go back to your OpenHands" },
  upstream_unreachable = { "Not answering yet", "Nothing answers here yet. It may still be starting, or restarting.",
    "retry", "Try again" },
  spawner_unavailable = { "The server is busy",
    "The service that starts workspaces is not answering. Trying again in a few seconds usually helps.", "retry", "Try again" },
  too_many_lookups = { "Too many addresses at once",
    "This browser asked for many workspace addresses in a short time. Wait a minute, then try again.", "retry", "Try again" },
  bad_host = { "Unknown address", "This address is not served here.", "app", "Go to OpenHands" },
  unknown_host = { "Unknown address", "This address is not served here.", nil, nil },
  cross_site = { "Refused", "This request did not come from OpenHands or this workspace, so it was not carried out.",
    "app", "Go to OpenHands" },
}

--- A refusal page. @param code the proxy's error code @param message its plain-text message (used for unknown codes)
--- @param path the request's path, for "retry" @param refresh_seconds when set, the page reloads itself
function M.refusal(code, message, path, refresh_seconds)
  local words = REFUSALS[code] or { "Something went wrong", message, "retry", "Try again" }
  local main = "<h1>" .. escape(words[1]) .. "</h1><p>" .. escape(words[2]) .. "</p>"
  local action, text = words[3], words[4]
  if action then
    local href = action == "signin" and "/" or action == "app" and APP_ORIGIN or M.safe_path(path)
    main = main .. '<div class="actions"><a class="button" href="' .. escape(href) .. '">' .. escape(text) .. "</a></div>"
  end
  local head = refresh_seconds and ('<meta http-equiv="refresh" content="' .. refresh_seconds .. '">') or nil
  return M.render(words[1], main, head)
end

--- The page-facing view of the spawner's start report: what the script needs, no failure details.
function M.status_view(report)
  if type(report) ~= "table" then return { state = "unknown" } end
  local state = report.state
  if state ~= "idle" and state ~= "starting" and state ~= "running" and state ~= "failed" then state = "unknown" end
  return {
    state = state,
    stage = M.stage_known(report.stage) and report.stage or nil,
    elapsedMs = tonumber(report.elapsedMs),
    typicalMs = tonumber(report.typicalMs),
  }
end

------------------------------------------------------------------------------------------------
-- Sending (nginx).

-- The proxy's own pages allow their one stylesheet (by hash) and their one same-origin script, nothing else.
-- CloudFront's response headers policy replaces this on the app host with the app's (also strict) policy.
-- The stylesheet's hash as CSP wants it: standard base64 of the SHA-256, with padding.
local function style_source(style)
  local digest = crypto.sha256_hex(style):gsub("%x%x", function(byte) return string.char(tonumber(byte, 16)) end)
  local base64 = b64url.encode(digest):gsub("[-_]", { ["-"] = "+", ["_"] = "/" })
  return "'sha256-" .. base64 .. string.rep("=", (4 - #base64 % 4) % 4) .. "'"
end
M.style_source = style_source(assets.style)

local CSP = "default-src 'none'; style-src " .. M.style_source .. "; script-src 'self'; connect-src 'self'; "
  .. "img-src 'self'; base-uri 'none'; form-action 'none'"

--- Sends a page and ends the request.
function M.send(status, html, retry_after)
  ngx.status = status
  ngx.header["Content-Type"] = "text/html; charset=utf-8"
  ngx.header["Cache-Control"] = "no-store"
  -- Framing of the app host's pages (clickjacking); a runtime host's page may show in the App tab, as nginx's own CSP there allows.
  ngx.header["Content-Security-Policy"] = M.is_app_host(ngx.var.host) and (CSP .. "; frame-ancestors 'none'") or CSP
  ngx.header["X-Content-Type-Options"] = "nosniff"
  if retry_after then ngx.header["Retry-After"] = tostring(retry_after) end
  ngx.print(html)
  return ngx.exit(ngx.HTTP_OK)
end

local SCRIPT
local function read_script()
  -- Next to this module (lua/oh/pages/starting.js), read once per worker.
  local path = package.searchpath("oh.pages", package.path)
  local file = path and io.open(path:gsub("pages%.lua$", "pages/starting.js"), "rb")
  if not file then return nil end
  local text = file:read("*a")
  file:close()
  return text
end

--- GET /_oh/pages/starting.js on the app host: the starting page's script (static, no user data).
function M.script()
  SCRIPT = SCRIPT or read_script()
  if not SCRIPT then
    ngx.status = 404
    return ngx.exit(404)
  end
  ngx.header["Content-Type"] = "text/javascript; charset=utf-8"
  ngx.header["Cache-Control"] = "no-cache"
  ngx.header["X-Content-Type-Options"] = "nosniff"
  ngx.print(SCRIPT)
  return ngx.exit(ngx.HTTP_OK)
end

return M
