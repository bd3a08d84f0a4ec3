-- Rewrites the internal sandbox URLs that a user's OpenHands puts in its API responses
-- ("http://<gateway IP>:<host port>...") into public runtime URLs
-- ("https://<host port>-<slug>.<runtime domain>..."), for the JSON fields the browser uses:
-- exposed_urls[].url, conversation_url and agent_server_url.
--
-- Streaming: feed() takes the body chunk by chunk (nginx body filter) and returns what can be sent
-- now. It holds back only a tail that could still grow into a match, so streamed responses keep
-- flowing and a URL split across two chunks is still rewritten. Pure Lua, no nginx API.
local M = {}

local FIELDS = { url = true, conversation_url = true, agent_server_url = true }

-- "<field>"<ws>:<ws>"http://a.b.c.d:port followed by the end of the authority.
local MATCH = '"([%w_]+)("%s*:%s*")http://(%d+%.%d+%.%d+%.%d+):(%d+)([/"?#])'

-- Tails that may still become a match once the next chunk arrives.
local PARTIAL = {
  '^"[%w_]*$',
  '^"[%w_]+"%s*$',
  '^"[%w_]+"%s*:%s*$',
  '^"[%w_]+"%s*:%s*"h?t?t?p?:?/?/?$',
  '^"[%w_]+"%s*:%s*"http://[%d%.]*$',
  '^"[%w_]+"%s*:%s*"http://[%d%.]+:%d*$',
}

-- Longest possible match, and so the longest tail worth holding back.
local MAX_MATCH = 160

local function valid_ip(ip)
  for part in ip:gmatch("%d+") do
    if #part > 3 or tonumber(part) > 255 then return false end
  end
  return true
end

local function valid_port(port)
  local n = tonumber(port)
  return #port <= 5 and port:sub(1, 1) ~= "0" and n >= 1 and n <= 65535
end

local function could_grow(tail)
  for _, pattern in ipairs(PARTIAL) do
    if tail:find(pattern) then return true end
  end
  return false
end

local Rewriter = {}
Rewriter.__index = Rewriter

--- @param slug the signed user's slug; @param runtime_domain e.g. "runtime.example.com"
function M.new(slug, runtime_domain)
  return setmetatable({ host_suffix = "-" .. slug .. "." .. runtime_domain, held = "", rewritten = 0 }, Rewriter)
end

--- @param chunk string or nil; @param eof true on the last call
--- @return the text to send now
function Rewriter:feed(chunk, eof)
  local buf = self.held .. (chunk or "")
  local out, pos = {}, 1
  while true do
    local s, e, field, sep, ip, port, term = buf:find(MATCH, pos)
    if not s then break end
    if FIELDS[field] and valid_ip(ip) and valid_port(port) then
      out[#out + 1] = buf:sub(pos, s - 1)
      out[#out + 1] = '"' .. field .. sep .. "https://" .. port .. self.host_suffix .. term
      self.rewritten = self.rewritten + 1
      pos = e + 1
    else
      -- Not ours: pass the opening quote and look again from the next character.
      out[#out + 1] = buf:sub(pos, s)
      pos = s + 1
    end
  end
  self.held = ""
  if not eof then
    local from = math.max(pos, #buf - MAX_MATCH + 1)
    local q = buf:find('"', from, true)
    while q do
      if could_grow(buf:sub(q)) then
        self.held = buf:sub(q)
        out[#out + 1] = buf:sub(pos, q - 1)
        return table.concat(out)
      end
      q = buf:find('"', q + 1, true)
    end
  end
  out[#out + 1] = buf:sub(pos)
  return table.concat(out)
end

--- Rewrites a whole body at once.
function M.rewrite(body, slug, runtime_domain)
  return M.new(slug, runtime_domain):feed(body, true)
end

return M
