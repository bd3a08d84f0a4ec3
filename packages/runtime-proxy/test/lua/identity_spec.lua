local check = require "check"
local identity = require "oh.identity"

local KEY = string.rep("k", 32)
local HOST = "openhands.example.com"
local NOW = 1800000000
local OPTS = { skew = 5, max_ahead = 300 }

local function headers(overrides)
  local h = {
    ["x-oh-user"] = "1f2e3d4c-sub", ["x-oh-user-slug"] = "abcdefghijklmnop",
    ["x-oh-email"] = "ada@example.com", ["x-oh-exp"] = tostring(NOW + 60),
  }
  h["x-oh-sig"] = identity.sign(KEY, HOST, h["x-oh-user"], h["x-oh-user-slug"], h["x-oh-email"], h["x-oh-exp"])
  for k, v in pairs(overrides or {}) do h[k] = v end
  return h
end

-- The cache interface of resty.lrucache (get, set with a TTL), counting hits; it never evicts.
local function new_cache()
  local entries = {}
  return {
    size = 0, hits = 0,
    get = function(self, k)
      local v = entries[k]
      if v ~= nil then self.hits = self.hits + 1 end
      return v
    end,
    set = function(self, k, v, ttl)
      if entries[k] == nil then self.size = self.size + 1 end
      entries[k] = v
      self.last_ttl = ttl
    end,
  }
end

local function refused(expected_reason, h, host, now)
  return function()
    local who, reason = identity.verify(KEY, host or HOST, h, now or NOW, OPTS)
    check.falsy(who, "identity")
    check.eq(reason, expected_reason, "reason")
  end
end

return {
  { "GIVEN a correctly signed identity THEN it is returned", function()
    local who = identity.verify(KEY, HOST, headers(), NOW, OPTS)
    check.eq(who.slug, "abcdefghijklmnop")
    check.eq(who.sub, "1f2e3d4c-sub")
    check.eq(who.email, "ada@example.com")
  end },
  { "the signed text is the contract's canonical string", function()
    check.eq(identity.canonical("h", "s", "g", "e", "1"), "v1\nh\ns\ng\ne\n1")
  end },
  { "an empty email is allowed when signed", function()
    local h = headers({ ["x-oh-email"] = "" })
    h["x-oh-sig"] = identity.sign(KEY, HOST, h["x-oh-user"], h["x-oh-user-slug"], "", h["x-oh-exp"])
    check.truthy(identity.verify(KEY, HOST, h, NOW, OPTS))
  end },
  { "no identity headers at all: missing", refused("missing", {}) },
  { "forged: another slug under a valid signature", refused("bad signature", headers({ ["x-oh-user-slug"] = "bbbbbbbbbbbbbbbb" })) },
  { "forged: another sub", refused("bad signature", headers({ ["x-oh-user"] = "someone-else" })) },
  { "forged: another email", refused("bad signature", headers({ ["x-oh-email"] = "eve@example.com" })) },
  { "forged: a later expiry", refused("bad signature", headers({ ["x-oh-exp"] = tostring(NOW + 120) })) },
  { "forged: signed with another key", function()
    local h = headers()
    h["x-oh-sig"] = identity.sign(string.rep("x", 32), HOST, h["x-oh-user"], h["x-oh-user-slug"], h["x-oh-email"], h["x-oh-exp"])
    refused("bad signature", h)()
  end },
  { "signed for another host", refused("bad signature", headers(), "3000-abcdefghijklmnop.runtime.example.com") },
  { "signed for the same host in upper case", refused("bad signature", headers(), "OpenHands.example.com") },
  { "expired", refused("expired", headers(), nil, NOW + 66) },
  { "within the clock skew it still passes", function()
    check.truthy(identity.verify(KEY, HOST, headers(), NOW + 64, OPTS))
  end },
  { "too far ahead", function()
    local exp = tostring(NOW + 3600)
    local h = headers({ ["x-oh-exp"] = exp })
    h["x-oh-sig"] = identity.sign(KEY, HOST, h["x-oh-user"], h["x-oh-user-slug"], h["x-oh-email"], exp)
    refused("not yet valid", h)()
  end },
  { "a truncated signature is malformed", function()
    local h = headers()
    h["x-oh-sig"] = h["x-oh-sig"]:sub(1, 42)
    refused("malformed", h)()
  end },
  { "a repeated header is malformed", function()
    local h = headers()
    h["x-oh-user-slug"] = { h["x-oh-user-slug"], "bbbbbbbbbbbbbbbb" }
    refused("malformed", h)()
  end },
  { "a newline inside a field is malformed", refused("malformed", headers({ ["x-oh-user"] = "a\nb" })) },
  { "a non-numeric expiry is malformed", refused("malformed", headers({ ["x-oh-exp"] = "1e9" })) },
  { "an upper-case slug is malformed", refused("malformed", headers({ ["x-oh-user-slug"] = "ABCDEFGHIJKLMNOP" })) },
  { "a signature alone is malformed", refused("malformed", { ["x-oh-sig"] = string.rep("a", 43) }) },

  -- verify_cached: the per-worker cache of identities that verified. The cache here never evicts
  -- (stricter than resty.lrucache, whose TTL would also drop an expired entry): expiry is the
  -- check's own job on every hit.
  { "verify_cached: a hit gives the same identity as verify, and nothing is cached for a refusal", function()
    local cache = new_cache()
    local who = identity.verify_cached(cache, KEY, HOST, headers(), NOW, OPTS)
    check.eq(who.slug, "abcdefghijklmnop")
    check.eq(cache.size, 1, "entries after a valid identity")
    local again = identity.verify_cached(cache, KEY, HOST, headers(), NOW + 1, OPTS)
    check.eq(again.sub, "1f2e3d4c-sub")
    check.eq(cache.hits, 1, "cache hits")
    identity.verify_cached(cache, KEY, HOST, headers({ ["x-oh-user"] = "someone-else" }), NOW, OPTS)
    check.eq(cache.size, 1, "entries after a forged identity")
  end },
  { "verify_cached: an expired identity is refused even when cached", function()
    local cache = new_cache()
    check.truthy(identity.verify_cached(cache, KEY, HOST, headers(), NOW, OPTS))
    check.truthy(identity.verify_cached(cache, KEY, HOST, headers(), NOW + 65, OPTS), "within the skew")
    local who, reason = identity.verify_cached(cache, KEY, HOST, headers(), NOW + 66, OPTS)
    check.falsy(who, "identity")
    check.eq(reason, "expired", "reason")
    check.eq(cache.hits, 2, "the refusal came from a cache hit")
  end },
  { "verify_cached: the entry's lifetime is the identity's remaining one", function()
    local cache = new_cache()
    identity.verify_cached(cache, KEY, HOST, headers(), NOW, OPTS)
    check.eq(cache.last_ttl, 60 + 5 + 1, "ttl")
  end },
  { "verify_cached: a tampered signature with the same prefix is refused after the valid one was cached", function()
    local cache = new_cache()
    local h = headers()
    check.truthy(identity.verify_cached(cache, KEY, HOST, h, NOW, OPTS))
    for _, i in ipairs({ 1, 21, 43 }) do
      local c = h["x-oh-sig"]:sub(i, i)
      local tampered = headers({ ["x-oh-sig"] = h["x-oh-sig"]:sub(1, i - 1) .. (c == "A" and "B" or "A") .. h["x-oh-sig"]:sub(i + 1) })
      local who, reason = identity.verify_cached(cache, KEY, HOST, tampered, NOW, OPTS)
      check.falsy(who, "identity with character " .. i .. " changed")
      check.eq(reason, "bad signature", "reason")
    end
  end },
  { "verify_cached: each signed field and the host are part of the key", function()
    local cache = new_cache()
    check.truthy(identity.verify_cached(cache, KEY, HOST, headers(), NOW, OPTS))
    local cases = {
      { headers({ ["x-oh-user"] = "someone-else" }), HOST },
      { headers({ ["x-oh-user-slug"] = "bbbbbbbbbbbbbbbb" }), HOST },
      { headers({ ["x-oh-email"] = "eve@example.com" }), HOST },
      { headers({ ["x-oh-exp"] = tostring(NOW + 61) }), HOST },
      { headers(), "3000-abcdefghijklmnop.runtime.example.com" },
    }
    for i, case in ipairs(cases) do
      local who, reason = identity.verify_cached(cache, KEY, case[2], case[1], NOW, OPTS)
      check.falsy(who, "case " .. i)
      check.eq(reason, "bad signature", "reason of case " .. i)
    end
  end },
  { "verify_cached: an entry whose fields differ from the request is not used, whatever its key", function()
    local cache = new_cache()
    local h = headers()
    local forged = headers({ ["x-oh-user-slug"] = "bbbbbbbbbbbbbbbb" })
    local planted = identity.verify(KEY, HOST, h, NOW, OPTS)
    planted.host, planted.exp_text, planted.sig = HOST, h["x-oh-exp"], h["x-oh-sig"]
    cache:set(identity.canonical(HOST, forged["x-oh-user"], forged["x-oh-user-slug"], forged["x-oh-email"], forged["x-oh-exp"])
      .. "\n" .. forged["x-oh-sig"], planted, 60)
    local who, reason = identity.verify_cached(cache, KEY, HOST, forged, NOW, OPTS)
    check.falsy(who, "identity")
    check.eq(reason, "bad signature", "reason")
  end },
  { "verify_cached: a repeated header after a cached identity is malformed", function()
    local cache = new_cache()
    local h = headers()
    check.truthy(identity.verify_cached(cache, KEY, HOST, h, NOW, OPTS))
    h["x-oh-user-slug"] = { h["x-oh-user-slug"], h["x-oh-user-slug"] }
    local who, reason = identity.verify_cached(cache, KEY, HOST, h, NOW, OPTS)
    check.falsy(who, "identity")
    check.eq(reason, "malformed", "reason")
  end },
}
