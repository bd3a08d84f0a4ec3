local check = require "check"
local pages = require "oh.pages"

local function has(text, part)
  if not text:find(part, 1, true) then error("expected to find " .. string.format("%q", part) .. " in the page", 2) end
end
local function lacks(text, part)
  if text:find(part, 1, true) then error("did not expect " .. string.format("%q", part) .. " in the page", 2) end
end

return {
  { "pages: a same-host path is kept as it is", function()
    check.eq(pages.safe_path("/conversations/abc?x=1&y=%2F%2Fz#top"), "/conversations/abc?x=1&y=%2F%2Fz#top")
    check.eq(pages.safe_path("/"), "/")
  end },
  { "pages: open redirect: scheme-relative, backslash, absolute and odd targets all become /", function()
    for _, bad in ipairs({ "//evil.example/x", "/\\evil.example/x", "https://evil.example/", "evil.example", "",
      "/a\\b", "/a\nLocation: x", "/ space", "/\tx", "javascript:alert(1)", string.rep("/a", 3000) }) do
      check.eq(pages.safe_path(bad), "/", bad)
    end
    check.eq(pages.safe_path(nil), "/")
    check.eq(pages.safe_path(42), "/")
  end },
  { "pages: every interpolated value is escaped (markup injection through the path or the request id)", function()
    local html = pages.start_failed("database", "<script>x</script>", '/a"><script>alert(1)</script>')
    lacks(html, "<script>x")
    lacks(html, '"><script>')
    has(html, "&lt;script&gt;x&lt;/script&gt;")
    has(html, 'href="/a&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"')
  end },
  { "pages: the layout's slots are filled once: a % or a {{slot}} in a value stays text", function()
    local html = pages.refusal("unknown_code", "100% {{style}} %1", "/")
    has(html, "100% {{style}} %1")
    check.eq(select(2, html:gsub("<style>", "")), 1, "one stylesheet")
  end },
  { "pages: the starting page names the stage, the time so far and the usual time, and reloads itself only without scripts", function()
    local html = pages.starting({ state = "starting", stage = "container", elapsedMs = 12400, typicalMs = 41000 }, "/conversations/1", 5)
    has(html, "<h1>Starting your OpenHands</h1>")
    has(html, '<li data-stage="container" class="now">Starting your OpenHands</li>')
    has(html, '<li data-stage="database" class="done">')
    has(html, '<li data-stage="health">')
    has(html, "Started 12 s ago. A start usually takes about 41 s here.")
    has(html, '<noscript><meta http-equiv="refresh" content="5"></noscript>')
    has(html, '<script src="/_oh/pages/starting.js" defer></script>')
    has(html, 'data-next="/conversations/1"')
    has(html, '<progress max="41000" value="12400">')
  end },
  { "pages: a starting page without a report or with an unknown stage still renders", function()
    local html = pages.starting(nil, "//evil.example/", 3)
    has(html, "Started just now. The first start on a new server takes a minute or two.")
    has(html, 'data-next="/"')
    has(pages.starting({ stage = "<b>" }, "/", 3), "<progress></progress>")
  end },
  { "pages: a failed start says what failed in words, offers a retry of the same path and the request id", function()
    local html = pages.start_failed("health", "0123abcd", "/x?y=1")
    has(html, "Your OpenHands could not start")
    has(html, "Your OpenHands started but did not answer in time.")
    has(html, '<a class="button" href="/x?y=1">Try again</a>')
    has(html, '<code id="oh-request-id">0123abcd</code>')
    has(pages.start_failed("nonsense", nil, "/"), "Something went wrong while starting your OpenHands.")
  end },
  { "pages: the host at capacity says how many run, and retries by itself", function()
    local html = pages.capacity({ reason = "apps", running = 20, starting = 0, max = 20 }, "/", 30)
    has(html, "The server is full: 20 of 20 OpenHands are running or starting.")
    has(html, '<meta http-equiv="refresh" content="30">')
    has(pages.capacity({ reason = "memory" }, "/", 30), "no memory left")
    has(pages.capacity("not a table", "/", 30), "The server is full right now.")
  end },
  { "pages: refusals give the one next step: sign in, back to OpenHands, or try again", function()
    pages.configure("openhands.example.test")
    has(pages.refusal("unauthenticated", "x", "/p"), '<a class="button" href="/">Sign in</a>')
    has(pages.refusal("not_yours", "x", "/p"), '<a class="button" href="https://openhands.example.test/">Go back to your OpenHands</a>')
    has(pages.refusal("sandbox_not_found", "x", "/p"), "Open the conversation in OpenHands again to start it")
    has(pages.refusal("upstream_unreachable", "x", "/p?q"), '<a class="button" href="/p?q">Try again</a>')
  end },
  { "pages: the status view passes on the state, stage and times only (no failure details)", function()
    local view = pages.status_view({ state = "failed", stage = "database", elapsedMs = 5, typicalMs = 9,
      failure = { stage = "database", message = "connect ECONNREFUSED 10.0.0.5:5432" }, requestId = "r" })
    check.eq(view.state, "failed"); check.eq(view.stage, "database"); check.eq(view.elapsedMs, 5); check.eq(view.typicalMs, 9)
    check.falsy(view.failure); check.falsy(view.requestId)
    check.eq(pages.status_view({ state = "<x>", stage = "<y>" }).state, "unknown")
    check.falsy(pages.status_view({ state = "starting", stage = "<y>" }).stage)
    check.eq(pages.status_view(nil).state, "unknown")
  end },
}
