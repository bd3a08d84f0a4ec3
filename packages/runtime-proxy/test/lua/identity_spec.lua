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
}
