local check = require "check"
local url_rewrite = require "oh.url_rewrite"

local SLUG, DOMAIN = "abcdefghijklmnop", "runtime.example.com"

local function rewrite(s) return url_rewrite.rewrite(s, SLUG, DOMAIN) end

local function in_chunks(body, size)
  local r = url_rewrite.new(SLUG, DOMAIN)
  local out = {}
  for i = 1, #body, size do out[#out + 1] = r:feed(body:sub(i, i + size - 1), false) end
  out[#out + 1] = r:feed(nil, true)
  return table.concat(out)
end

local SEARCH = '{"items":[{"id":"s1","status":"RUNNING","session_api_key":"k1","exposed_urls":['
  .. '{"name":"AGENT_SERVER","url":"http://10.240.7.1:32771","port":8000},'
  .. '{"name":"VSCODE","url":"http://10.240.7.1:32772/?tkn=k1&folder=/workspace/project","port":8001},'
  .. '{"name":"WORKER_1","url":"http://10.240.7.1:32773","port":8011}]}],"next_page_id":null}'

return {
  { "exposed_urls[].url are rewritten, paths and queries kept", function()
    local out = rewrite(SEARCH)
    check.truthy(out:find('"url":"https://32771-abcdefghijklmnop.runtime.example.com"', 1, true), "agent server")
    check.truthy(out:find('"url":"https://32772-abcdefghijklmnop.runtime.example.com/?tkn=k1&folder=/workspace/project"', 1, true),
      "vscode")
    check.truthy(out:find('"url":"https://32773-abcdefghijklmnop.runtime.example.com"', 1, true), "worker")
    check.falsy(out:find("10.240.7.1", 1, true), "no internal address left")
  end },
  { "conversation_url and agent_server_url, with spaces around the colon", function()
    local out = rewrite('{"conversation_url": "http://10.240.7.1:32771/api/conversations/ab12", '
      .. '"agent_server_url" : "http://10.240.7.1:32771"}')
    check.eq(out, '{"conversation_url": "https://32771-abcdefghijklmnop.runtime.example.com/api/conversations/ab12", '
      .. '"agent_server_url" : "https://32771-abcdefghijklmnop.runtime.example.com"}')
  end },
  { "other fields, other schemes and host names are left alone", function()
    local body = '{"title":"see http://10.240.7.1:32771/x","repo_url":"http://10.0.0.1:80/",'
      .. '"url":"https://10.240.7.1:32771","url":"http://example.com:80/"}'
    check.eq(rewrite(body), body)
  end },
  { "invalid ports and addresses are left alone", function()
    local body = '{"url":"http://10.240.7.1:0/","url":"http://10.240.7.1:65536/",'
      .. '"url":"http://10.240.7.1:0080/","url":"http://10.240.300.1:8080/"}'
    check.eq(rewrite(body), body)
  end },
  { "every chunk size from 1 to 64 gives the same result as one piece", function()
    local whole = rewrite(SEARCH)
    for size = 1, 64 do check.eq(in_chunks(SEARCH, size), whole, "chunk size " .. size) end
  end },
  { "a port split across chunks is not cut short", function()
    local r = url_rewrite.new(SLUG, DOMAIN)
    local a = r:feed('{"url":"http://10.240.7.1:327', false)
    local b = r:feed('71/x"}', true)
    check.eq(a .. b, '{"url":"https://32771-abcdefghijklmnop.runtime.example.com/x"}')
  end },
  { "a tail that cannot become a URL is sent at once (streams keep flowing)", function()
    local r = url_rewrite.new(SLUG, DOMAIN)
    local chunk = '{"id":"t1","status":"WORKING","detail":"starting sandbox"}'
    check.eq(r:feed(chunk, false), chunk)
    check.eq(r:feed(",", false), ",")
  end },
  { "a tail that may still become a URL is held until the next chunk", function()
    local r = url_rewrite.new(SLUG, DOMAIN)
    check.eq(r:feed('{"id":"t1","agent_server_url":"ht', false), '{"id":"t1",')
    check.eq(r:feed('tp://10.240.7.1:32771"}', true), '"agent_server_url":"https://32771-abcdefghijklmnop.runtime.example.com"}')
  end },
  { "an empty body and a body without URLs pass unchanged", function()
    check.eq(rewrite(""), "")
    check.eq(rewrite("[]"), "[]")
  end },
}
