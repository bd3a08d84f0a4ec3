-- ECS mode's sandbox names in the app's answers (docs/ecs.md, "Runtime URLs"): http://[service-]<p>-<slug>.<sandbox
-- domain> becomes https://<p + offset>-<slug>.<runtime domain> for the signed user's own slug only.
local check = require "check"
local url_rewrite = require "oh.url_rewrite"

local SLUG, OTHER = "abcdefghijklmnop", "qrstuvwxyz234567"
local DOMAIN, SANDBOXES = "runtime.example.com", "sandboxes.openhands-prod.internal"

local function rewrite(s) return url_rewrite.rewrite(s, SLUG, DOMAIN, SANDBOXES) end
local function name(prefix, p, slug) return prefix .. p .. "-" .. (slug or SLUG) .. "." .. SANDBOXES end
local function public(p) return "https://" .. p .. "-" .. SLUG .. "." .. DOMAIN end

local function in_chunks(body, size)
  local r = url_rewrite.new(SLUG, DOMAIN, SANDBOXES)
  local out = {}
  for i = 1, #body, size do out[#out + 1] = r:feed(body:sub(i, i + size - 1), false) end
  out[#out + 1] = r:feed(nil, true)
  return table.concat(out)
end

-- As the remote sandbox service's sandbox reaches the browser through the app (the four services of one sandbox).
local SEARCH = '{"items":[{"id":"s1","status":"RUNNING","session_api_key":"k1","exposed_urls":['
  .. '{"name":"AGENT_SERVER","url":"http://' .. name("", 40000) .. '","port":8000},'
  .. '{"name":"VSCODE","url":"http://' .. name("vscode-", 40000) .. '/?tkn=k1&folder=/workspace/project","port":8001},'
  .. '{"name":"WORKER_1","url":"http://' .. name("work-1-", 40000) .. '","port":8011},'
  .. '{"name":"WORKER_2","url":"http://' .. name("work-2-", 40000) .. '#top","port":8012}],'
  .. '"conversation_url":"http://' .. name("", 40000) .. '/api/conversations/ab12",'
  .. '"agent_server_url" : "http://' .. name("", 40000) .. '?x=1"}],"next_page_id":null}'

local function untouched(what, body)
  return { what, function()
    check.eq(rewrite(body), body)
    for size = 1, 40 do check.eq(in_chunks(body, size), body, "chunk size " .. size) end
  end }
end

return {
  { "GIVEN the four service names THEN each maps to p, p+1, p+2 and p+3 with paths, queries and fragments kept", function()
    local out = rewrite(SEARCH)
    check.truthy(out:find('"url":"' .. public(40000) .. '"', 1, true), "agent-server")
    check.truthy(out:find('"url":"' .. public(40001) .. '/?tkn=k1&folder=/workspace/project"', 1, true), "vscode")
    check.truthy(out:find('"url":"' .. public(40002) .. '"', 1, true), "worker 1")
    check.truthy(out:find('"url":"' .. public(40003) .. '#top"', 1, true), "worker 2")
    check.truthy(out:find('"conversation_url":"' .. public(40000) .. '/api/conversations/ab12"', 1, true), "conversation")
    check.truthy(out:find('"agent_server_url" : "' .. public(40000) .. '?x=1"', 1, true), "agent_server_url")
    check.falsy(out:find(SANDBOXES, 1, true), "no internal name left")
  end },
  { "GIVEN every chunk size from 1 to 80 THEN the result is the same as in one piece", function()
    local whole = rewrite(SEARCH)
    for size = 1, 80 do check.eq(in_chunks(SEARCH, size), whole, "chunk size " .. size) end
  end },
  { "GIVEN a name split inside the domain THEN it is held and rewritten once the rest arrives", function()
    local r = url_rewrite.new(SLUG, DOMAIN, SANDBOXES)
    local a = r:feed('{"id":"s1","url":"http://vscode-40000-' .. SLUG .. '.sandboxes.openh', false)
    check.eq(a, '{"id":"s1",')
    local b = r:feed('ands-prod.internal/?tkn=k"}', true)
    check.eq(a .. b, '{"id":"s1","url":"' .. public(40001) .. '/?tkn=k"}')
  end },
  { "GIVEN IPv4 URLs next to sandbox names THEN both forms are rewritten", function()
    check.eq(rewrite('["url":"http://10.240.7.1:32771/","url":"http://' .. name("", 40000) .. '/"]'),
      '["url":"https://32771-' .. SLUG .. '.' .. DOMAIN .. '/","url":"' .. public(40000) .. '/"]')
  end },
  { "GIVEN a tail that cannot become a sandbox URL THEN it is sent at once, and the held tail stays bounded", function()
    local r = url_rewrite.new(SLUG, DOMAIN, SANDBOXES)
    check.eq(r:feed('{"detail":"starting sandbox"}', false), '{"detail":"starting sandbox"}')
    -- A host-name-like value that never ends: held no longer than the longest possible match.
    local long = '{"url":"http://' .. string.rep("a", 5000)
    local sent = r:feed(long, false)
    check.truthy(#long - #sent <= 160 + #SANDBOXES, "held " .. (#long - #sent) .. " bytes")
    check.eq(sent .. r:feed(nil, true), long)
  end },
  { "GIVEN no sandbox domain (docker mode) THEN sandbox names are left alone", function()
    local body = '{"url":"http://' .. name("", 40000) .. '/"}'
    check.eq(url_rewrite.rewrite(body, SLUG, DOMAIN, nil), body)
  end },
  -- Another user's sandbox under this user's public host (the browser would open it as its own).
  untouched("attack: another user's slug is left alone", '{"url":"http://' .. name("vscode-", 40000, OTHER) .. '/?tkn=x"}'),
  -- Names the spawner never gives: rewriting them would invent public hosts.
  untouched("attack: an upper-case slug is left alone", '{"url":"http://' .. name("", 40000, SLUG:upper()) .. '/"}'),
  untouched("attack: an upper-case service prefix is left alone", '{"url":"http://' .. name("VSCODE-", 40000) .. '/"}'),
  untouched("attack: an upper-case domain is left alone", '{"url":"http://40000-' .. SLUG .. '.' .. SANDBOXES:upper() .. '/"}'),
  untouched("attack: an extra label is left alone", '{"url":"http://x.' .. name("", 40000) .. '/"}'),
  untouched("attack: a service prefix in front of another is left alone", '{"url":"http://vscode-' .. name("work-1-", 40000) .. '/"}'),
  untouched("attack: an unknown service prefix is left alone", '{"url":"http://' .. name("work-3-", 40000) .. '/"}'),
  -- A look-alike domain would send the browser's request to a host the attacker controls... or from one.
  untouched("attack: a look-alike suffix (<sandbox domain>.evil.com) is left alone",
    '{"url":"http://' .. name("", 40000) .. '.evil.com/"}'),
  untouched("attack: a domain that merely ends like ours is left alone",
    '{"url":"http://40000-' .. SLUG .. '.x' .. SANDBOXES .. '/"}'),
  untouched("attack: user info in front of the name is left alone", '{"url":"http://evil.com@' .. name("", 40000) .. '/"}'),
  untouched("attack: the name as user info is left alone", '{"url":"http://' .. name("", 40000) .. '@evil.com/"}'),
  untouched("attack: a port after the name is left alone", '{"url":"http://' .. name("", 40000) .. ':80/"}'),
  -- Port overflow: p+3 past 65535 would wrap or name no port at all.
  untouched("attack: p + 3 past 65535 is left alone", '{"url":"http://' .. name("work-2-", 65533) .. '/"}'),
  untouched("attack: p past 65535 is left alone", '{"url":"http://' .. name("", 99999) .. '/"}'),
  untouched("attack: a six-digit p is left alone", '{"url":"http://' .. name("", 100000) .. '/"}'),
  untouched("attack: a leading zero is left alone", '{"url":"http://' .. name("", "040000") .. '/"}'),
  untouched("attack: p = 0 is left alone", '{"url":"http://' .. name("", 0) .. '/"}'),
  untouched("other fields are left alone", '{"repo_url":"http://' .. name("", 40000) .. '/","title":"http://' .. name("", 1) .. '"}'),
  untouched("https is left alone", '{"url":"https://' .. name("", 40000) .. '/"}'),
  { "GIVEN p = 65532 THEN work-2 maps to 65535, the last port", function()
    check.eq(rewrite('{"url":"http://' .. name("work-2-", 65532) .. '"}'), '{"url":"' .. public(65535) .. '"}')
  end },
}
