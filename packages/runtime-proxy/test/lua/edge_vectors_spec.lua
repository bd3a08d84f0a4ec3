-- The shared test vectors of packages/contracts (vectors/identity-signature.json and vectors/slug.json), the same
-- files the edge's TypeScript is tested against, checked with the proxy's own Lua: both sides agree byte for byte.
local check = require "check"
local cjson = require "cjson"
local b64url = require "oh.b64url"
local identity = require "oh.identity"

local runtime_host = require "oh.runtime_host"

local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
local function load_vectors(name)
  local path = here .. "/../../../contracts/vectors/" .. name
  local file = assert(io.open(path, "rb"), "contract vectors missing at " .. path)
  local document = cjson.decode(file:read("*a"))
  file:close()
  return document.vectors
end
local vectors = load_vectors("identity-signature.json")
local slug_vectors = load_vectors("slug.json")
local slug_of = {}
for _, s in ipairs(slug_vectors) do slug_of[s.sub] = s.slug end

local cases = {
  { "the contracts package publishes identity and slug vectors", function()
    check.truthy(#vectors > 0)
    check.truthy(#slug_vectors > 0)
  end },
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
    if slug_of[v.sub] then check.eq(v.slug, slug_of[v.sub], "the slug vector of the same sub") end
    check.eq(identity.canonical(v.host, v.sub, v.slug, v.email, exp), v.signedText, "signed text")
    check.eq(identity.sign(key, v.host, v.sub, v.slug, v.email, exp), v.xOhSig, "x-oh-sig")
    check.truthy(identity.verify(key, v.host, headers, v.exp, { skew = 5, max_ahead = 300 }), "verify")
  end }
  cases[#cases + 1] = { "edge vector '" .. v.name .. "' on another host is refused", function()
    check.falsy(identity.verify(key, "x" .. v.host, headers, v.exp, { skew = 5, max_ahead = 300 }))
  end }
end

-- The proxy never computes a slug: it checks the signed one's shape, finds it in runtime host names and compares it with
-- the spawner's owner. Every slug of the contract must pass those checks, whatever the sub it came from.
local KEY = string.rep("k", 32)
for _, s in ipairs(slug_vectors) do
  cases[#cases + 1] = { "slug vector '" .. s.name .. "': a runtime host with its slug parses to it", function()
    local parsed = runtime_host.parse("40123-" .. s.slug .. ".runtime.example.com", "runtime.example.com")
    check.truthy(parsed, "parsed")
    check.eq(parsed.slug, s.slug, "slug")
    check.eq(parsed.port, 40123, "port")
  end }
  cases[#cases + 1] = { "slug vector '" .. s.name .. "': an identity signed with its slug verifies, "
    .. "and not with the slug changed", function()
    local host, exp = "openhands.example.com", "1767225600"
    local sub = (#s.sub > 0 and #s.sub <= 256 and not s.sub:find("%c")) and s.sub or "sub-for-" .. s.slug
    local headers = {
      ["x-oh-user"] = sub, ["x-oh-user-slug"] = s.slug, ["x-oh-email"] = "",
      ["x-oh-exp"] = exp, ["x-oh-sig"] = identity.sign(KEY, host, sub, s.slug, "", exp),
    }
    local verified = identity.verify(KEY, host, headers, 1767225600, { skew = 5, max_ahead = 300 })
    check.truthy(verified, "verify")
    check.eq(verified.slug, s.slug, "verified slug")
    local other = (s.slug:sub(1, 1) == "a" and "b" or "a") .. s.slug:sub(2)
    headers["x-oh-user-slug"] = other
    check.falsy(identity.verify(KEY, host, headers, 1767225600, { skew = 5, max_ahead = 300 }), "changed slug")
  end }
end
return cases
