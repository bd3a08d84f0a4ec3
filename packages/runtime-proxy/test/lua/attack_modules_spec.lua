-- Pure parts of the issue 13 fixes: Set-Cookie filtering, upstream ranges, Origin decisions, log escaping.
local check = require "check"
local cookies = require "oh.cookies"
local log = require "oh.log"
local origin = require "oh.origin"
local upstream = require "oh.upstream"

local APP, SELF = "https://openhands.example.test", "https://32771-abcdefghijklmnop.runtime.example.test"

return {
  { "Set-Cookie: Domain is dropped in any case and spacing", function()
    for _, v in ipairs({ "a=1; Domain=x.test", "a=1; Domain =x.test", "a=1; Domain\t=x.test", "a=1; domain=x.test",
      "a=1;DOMAIN=x.test", "a=1; Domain = x.test ", "a=1; \tdOmAiN\t= .x.test", "a=1; Domain", "a=1; Do\0main=x" }) do
      check.eq(cookies.safe_set_cookie(v), "a=1", v)
    end
    check.eq(cookies.safe_set_cookie("a=1; Path=/; Domain =x.test; Secure; domain=y"), "a=1; Path=/; Secure")
  end },
  { "Set-Cookie: other attributes and plain cookies pass unchanged", function()
    check.eq(cookies.safe_set_cookie("sid=abc; Path=/; HttpOnly; SameSite=Lax"), "sid=abc; Path=/; HttpOnly; SameSite=Lax")
    check.eq(cookies.safe_set_cookie("theme=oh-dark"), "theme=oh-dark")
    check.eq(cookies.safe_set_cookie("x=domain=1; Path=/"), "x=domain=1; Path=/")
  end },
  { "Set-Cookie: our names, nameless cookies and control bytes in names are dropped", function()
    for _, v in ipairs({ "__Host-oh-session=x", "__host-OH-session=x; Path=/", " __Secure-oh-refresh=x; Path=/_auth/refresh",
      "__Host-oh-refresh=x", "__Host-oh_new=x", "oh-session=x", "OH_anything=x", "\t__Host-oh-runtime=x",
      "=__Host-oh-session=x", "=x", "__Host-oh-session", "a\1b=x", "caf\195\169=x", "", 42 }) do
      check.falsy(cookies.safe_set_cookie(v), tostring(v))
    end
  end },
  { "Set-Cookie lists: unchanged lists give nil, filtered ones a new list", function()
    check.falsy(cookies.filter_set_cookies({ "a=1", "b=2; Path=/" }))
    local out = cookies.filter_set_cookies({ "a=1; Domain=x", "__Host-oh-session=x", "b=2" })
    check.eq(#out, 2); check.eq(out[1], "a=1"); check.eq(out[2], "b=2")
    check.eq(#cookies.filter_set_cookies("__Secure-oh-refresh=x"), 0)
  end },
  { "upstreams: the app only at <prefix>.N.2:<app port>", function()
    check.eq(upstream.app("http://10.240.7.2:3000", "10.240", 3000), "10.240.7.2")
    check.eq(upstream.app("http://10.240.0.2:3000/", "10.240", 3000), "10.240.0.2")
    for _, bad in ipairs({ "http://10.240.7.1:3000", "http://10.240.7.3:3000", "http://10.240.7.130:3000", "http://10.240.7.2:3001",
      "http://10.241.7.2:3000", "http://127.0.0.1:3000", "http://110.240.7.2:3000", "http://10.2400.7.2:3000",
      "http://169.254.169.254:80" }) do
      check.falsy(upstream.app(bad, "10.240", 3000), bad)
    end
  end },
  { "upstreams: sandboxes only at <prefix>.N.128-254", function()
    check.eq(upstream.sandbox("http://10.240.7.128:8000", "10.240"), "10.240.7.128")
    check.eq(select(2, upstream.sandbox("http://10.240.255.254:65535", "10.240")), 65535)
    for _, bad in ipairs({ "http://10.240.7.1:8000", "http://10.240.7.2:8000", "http://10.240.7.127:8000", "http://10.240.7.255:8000",
      "http://10.24.7.130:8000", "http://10.2401.7.130:8000", "http://127.0.0.1:8000", "http://172.17.0.130:8000",
      "http://localhost:8000", "http://10.240.7.130:0" }) do
      check.falsy(upstream.sandbox(bad, "10.240"), bad)
    end
  end },
  { "upstreams (ECS mode): an app task at any usable task-subnet address, on the app port only", function()
    local subnets = upstream.subnets({ "10.0.1.0/24", "10.0.16.0/20" })
    check.eq(upstream.ecs_app("http://10.0.1.4:3000", subnets, 3000), "10.0.1.4")
    check.eq(upstream.ecs_app("http://10.0.1.3:3000", subnets, 3000) == nil, true)
    check.eq(upstream.ecs_app("http://10.0.31.254:3000", subnets, 3000), "10.0.31.254")
    -- SSRF: the subnet's network, router, DNS and broadcast addresses, another subnet, the host's or a sandbox's port
    for _, bad in ipairs({ "http://10.0.1.0:3000", "http://10.0.1.1:3000", "http://10.0.1.2:3000", "http://10.0.1.255:3000",
      "http://10.0.2.7:3000", "http://10.0.32.7:3000", "http://10.0.1.7:60000", "http://10.0.1.7:3001", "http://169.254.169.254:80",
      "http://127.0.0.1:3000", "http://10.0.31.255:3000" }) do
      check.falsy(upstream.ecs_app(bad, subnets, 3000), bad)
    end
  end },
  { "upstreams (ECS mode): a sandbox task only on the agent-server's four ports", function()
    local subnets = upstream.subnets({ "10.0.1.0/24" })
    for _, port in ipairs({ 60000, 60001, 12000, 12001 }) do
      check.eq(select(2, upstream.ecs_sandbox("http://10.0.1.9:" .. port, subnets)), port)
    end
    for _, bad in ipairs({ "http://10.0.1.9:3000", "http://10.0.1.9:22", "http://10.0.1.9:8000", "http://10.0.1.2:60000",
      "http://10.0.2.9:60000", "http://169.254.170.2:60000" }) do
      check.falsy(upstream.ecs_sandbox(bad, subnets), bad)
    end
  end },
  { "origin: GET and HEAD pass; other methods and handshakes need the host's or the app's origin", function()
    check.truthy(origin.allowed("GET", {}, SELF, APP))
    check.truthy(origin.allowed("HEAD", { origin = "https://evil.example" }, SELF, APP))
    check.truthy(origin.allowed("POST", { origin = APP }, SELF, APP))
    check.truthy(origin.allowed("POST", { origin = SELF }, SELF, APP))
    check.truthy(origin.allowed("PUT", { ["sec-fetch-site"] = "same-origin" }, SELF, APP))
    check.truthy(origin.allowed("DELETE", { ["sec-fetch-site"] = "none" }, SELF, APP))
    check.truthy(origin.allowed("GET", { upgrade = "websocket", origin = APP }, SELF, APP))
    for _, h in ipairs({ {}, { origin = "null" }, { origin = "https://evil.example" }, { origin = APP .. "." },
      { origin = "http://openhands.example.test" }, { origin = { APP, APP } }, { ["sec-fetch-site"] = "same-site" },
      { ["sec-fetch-site"] = "cross-site" }, { ["sec-fetch-site"] = { "none", "none" } } }) do
      check.falsy(origin.allowed("POST", h, SELF, APP))
    end
    check.falsy(origin.allowed("GET", { upgrade = "websocket", origin = "https://evil.example" }, SELF, APP))
    check.falsy(origin.allowed("GET", { ["sec-websocket-key"] = "x" }, SELF, APP))
  end },
  { "origin: only an authorised GET upgrades, and only to websocket", function()
    check.eq(origin.upgrade_to_forward("GET", { upgrade = "websocket" }), "websocket")
    check.eq(origin.upgrade_to_forward("GET", { upgrade = "WebSocket" }), "websocket")
    check.falsy(origin.upgrade_to_forward("GET", { upgrade = "h2c" }))
    check.falsy(origin.upgrade_to_forward("POST", { upgrade = "websocket" }))
    check.falsy(origin.upgrade_to_forward("GET", { upgrade = { "websocket", "h2c" } }))
    check.falsy(origin.upgrade_to_forward("GET", {}))
  end },
  { "origin: preflights get CORS only for the app or the host itself, with fixed lists", function()
    check.truthy(origin.is_preflight("OPTIONS", { origin = "x", ["access-control-request-method"] = "POST" }))
    check.falsy(origin.is_preflight("OPTIONS", { origin = "x" }))
    check.truthy(origin.is_preflight("OPTIONS", { ["access-control-request-method"] = "POST" }))
    check.falsy(origin.is_preflight("POST", { origin = "x", ["access-control-request-method"] = "POST" }))
    local h = origin.preflight_headers({ origin = APP }, SELF, APP)
    check.eq(h["Access-Control-Allow-Origin"], APP)
    check.eq(h["Access-Control-Allow-Methods"], origin.PREFLIGHT_METHODS)
    check.eq(origin.preflight_headers({ origin = SELF }, SELF, APP)["Access-Control-Allow-Origin"], SELF)
    check.falsy(origin.preflight_headers({ origin = "https://evil.example" }, SELF, APP)["Access-Control-Allow-Origin"])
    check.falsy(origin.preflight_headers({ origin = { APP, APP } }, SELF, APP)["Access-Control-Allow-Origin"])
  end },
  { "log: control bytes, DEL, non-ASCII and backslashes are escaped; plain text is kept", function()
    check.eq(log.escape("plain /path?x=1"), "plain /path?x=1")
    check.eq(log.escape("a\nb\rc\td\0e"), "a\\x0Ab\\x0Dc\\x09d\\x00e")
    check.eq(log.escape("\27[2J\127"), "\\x1B[2J\\x7F")
    check.eq(log.escape("caf\195\169"), "caf\\xC3\\xA9")
    check.eq(log.escape("back\\x0Aslash"), "back\\x5Cx0Aslash")
    check.eq(log.escape(42), "42")
  end },
}
