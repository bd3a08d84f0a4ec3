-- Rewrites the internal sandbox URLs that a user's OpenHands puts in its API responses into public
-- runtime URLs ("https://<port>-<slug>.<runtime domain>..."), for the JSON fields the browser uses:
-- exposed_urls[].url, conversation_url and agent_server_url. Two internal forms:
--   docker mode: "http://<gateway IP>:<host port>"                      -> port stays
--   ECS mode:    "http://[vscode-|work-1-|work-2-]<p>-<slug>.<sandbox domain>" (docs/ecs.md, "Runtime URLs")
--                                                                        -> p, p+1, p+2, p+3
-- The ECS form is rewritten only for the signed user's own slug; anything else is left as it is.
--
-- Streaming: feed() takes the body chunk by chunk (nginx body filter) and returns what can be sent
-- now. It holds back only a tail that could still grow into a match, so streamed responses keep
-- flowing and a URL split across two chunks is still rewritten. Pure Lua, no nginx API.
local M = {}

local FIELDS = { url = true, conversation_url = true, agent_server_url = true }

-- "<field>"<ws>:<ws>"http:// ; the authority follows, up to its end ('/', '"', '?' or '#').
local PREFIX = '"([%w_]+)("%s*:%s*")http://'
local AUTHORITY = '^([^/"?#]*)([/"?#])'

-- Tails that may still become a match once the next chunk arrives.
local PARTIAL = {
  '^"[%w_]*$',
  '^"[%w_]+"%s*$',
  '^"[%w_]+"%s*:%s*$',
  '^"[%w_]+"%s*:%s*"h?t?t?p?:?/?/?$',
  '^"[%w_]+"%s*:%s*"http://[%d%.]*$',
  '^"[%w_]+"%s*:%s*"http://[%d%.]+:%d*$',
}
-- With a sandbox domain, a host name in the making too (letters, digits, dots and dashes).
local PARTIAL_NAME = '^"[%w_]+"%s*:%s*"http://[%w%.%-]*$'

-- Longest possible IPv4 match, and so the longest tail worth holding back (a sandbox domain adds its length).
local MAX_MATCH = 160

-- Service prefix of a sandbox name -> offset of its route port from the sandbox's first one (p).
local SERVICE_OFFSET = { [""] = 0, ["vscode-"] = 1, ["work-1-"] = 2, ["work-2-"] = 3 }

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

local Rewriter = {}
Rewriter.__index = Rewriter

--- @param slug the signed user's slug; @param runtime_domain e.g. "runtime.example.com"
--- @param sandbox_domain ECS mode's internal sandbox domain, or nil (docker mode: IPv4 URLs only)
function M.new(slug, runtime_domain, sandbox_domain)
  local self = { slug = slug, host_suffix = "-" .. slug .. "." .. runtime_domain, held = "", rewritten = 0,
    partial = PARTIAL, max_match = MAX_MATCH }
  if type(sandbox_domain) == "string" and sandbox_domain ~= "" then
    self.sandbox_suffix = "." .. sandbox_domain
    self.partial = { PARTIAL_NAME }
    for i = 1, #PARTIAL do self.partial[#self.partial + 1] = PARTIAL[i] end
    -- '"agent_server_url" : "http://work-2-65532-<16>.' plus the domain and the end of the authority.
    self.max_match = MAX_MATCH + #sandbox_domain
  end
  return setmetatable(self, Rewriter)
end

function Rewriter:could_grow(tail)
  for _, pattern in ipairs(self.partial) do
    if tail:find(pattern) then return true end
  end
  return false
end

-- The public route port of an internal sandbox name in `authority`, or nil when it is not one of
-- the signed user's own names (another user's slug, upper case, extra labels, a look-alike domain).
function Rewriter:sandbox_port(authority)
  local suffix = self.sandbox_suffix
  -- Look-alike domains ("<sandbox domain>.evil.com", "x<sandbox domain>"): the exact suffix after a dot.
  if not suffix or #authority <= #suffix or authority:sub(-#suffix) ~= suffix then return nil end
  local label = authority:sub(1, #authority - #suffix)
  local service, rest = label:match("^(vscode%-)(.*)$")
  if not service then service, rest = label:match("^(work%-[12]%-)(.*)$") end
  if not service then service, rest = "", label end
  -- One label, lower case, decimal p without a leading zero: anything else is not a name the spawner gave.
  local port, slug = rest:match("^([1-9]%d?%d?%d?%d?)%-([a-z2-7]+)$")
  -- Another user's sandbox under this user's public host: only the signed user's own slug.
  if not port or slug ~= self.slug then return nil end
  local first = tonumber(port)
  -- A first route port whose four would pass 65535 was never given out (and p+3 must stay a port).
  if first + 3 > 65535 then return nil end
  return first + SERVICE_OFFSET[service]
end

--- @param chunk string or nil; @param eof true on the last call
--- @return the text to send now
function Rewriter:feed(chunk, eof)
  local buf = self.held .. (chunk or "")
  local out, pos = {}, 1
  while true do
    local s, e, field, sep = buf:find(PREFIX, pos)
    if not s then break end
    local _, a_end, authority, term = buf:find(AUTHORITY, e + 1)
    -- The authority is not complete yet: the held-tail check below decides about the rest.
    if not a_end then break end
    local port
    if FIELDS[field] then
      local ip, ip_port = authority:match("^(%d+%.%d+%.%d+%.%d+):(%d+)$")
      if ip then
        if valid_ip(ip) and valid_port(ip_port) then port = ip_port end
      else
        port = self:sandbox_port(authority)
      end
    end
    if port then
      out[#out + 1] = buf:sub(pos, s - 1)
      out[#out + 1] = '"' .. field .. sep .. "https://" .. port .. self.host_suffix .. term
      self.rewritten = self.rewritten + 1
      pos = a_end + 1
    else
      -- Not ours: pass the opening quote and look again from the next character.
      out[#out + 1] = buf:sub(pos, s)
      pos = s + 1
    end
  end
  self.held = ""
  if not eof then
    local from = math.max(pos, #buf - self.max_match + 1)
    local q = buf:find('"', from, true)
    while q do
      if self:could_grow(buf:sub(q)) then
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
function M.rewrite(body, slug, runtime_domain, sandbox_domain)
  return M.new(slug, runtime_domain, sandbox_domain):feed(body, true)
end

return M
