-- The edge's identity-signature test vectors (packages/edge-auth/test/vectors/identity-signature.json),
-- verified by the proxy's own Lua: both sides of the contract agree byte for byte.
local check = require "check"
local cjson = require "cjson"
local b64url = require "oh.b64url"
local identity = require "oh.identity"

local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
local path = here .. "/../../../edge-auth/test/vectors/identity-signature.json"
local file = assert(io.open(path, "rb"), "edge-auth vectors missing at " .. path)
local vectors = cjson.decode(file:read("*a")).vectors
file:close()

local cases = {
  { "the edge publishes at least one vector", function() check.truthy(#vectors > 0) end },
}
for _, v in ipairs(vectors) do
  local key = b64url.decode(v.identitySigningKey)
  local exp = string.format("%d", v.exp)
  local headers = {
    ["x-oh-user"] = v.sub, ["x-oh-user-slug"] = v.slug, ["x-oh-email"] = v.email,
    ["x-oh-exp"] = exp, ["x-oh-sig"] = v.xOhSig,
  }
  cases[#cases + 1] = { "edge vector '" .. v.name .. "': same signed text, same signature, verifies", function()
    check.eq(#key, 32, "key length")
    check.eq(identity.canonical(v.host, v.sub, v.slug, v.email, exp), v.signedText, "signed text")
    check.eq(identity.sign(key, v.host, v.sub, v.slug, v.email, exp), v.xOhSig, "x-oh-sig")
    check.truthy(identity.verify(key, v.host, headers, v.exp, { skew = 5, max_ahead = 300 }), "verify")
  end }
  cases[#cases + 1] = { "edge vector '" .. v.name .. "' on another host is refused", function()
    check.falsy(identity.verify(key, "x" .. v.host, headers, v.exp, { skew = 5, max_ahead = 300 }))
  end }
end
return cases
