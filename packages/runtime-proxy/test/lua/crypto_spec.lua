local check = require "check"
local b64url = require "oh.b64url"
local crypto = require "oh.crypto"

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

return {
  { "HMAC-SHA256 matches RFC 4231 test case 2", function()
    check.eq(hex(crypto.hmac_sha256("Jefe", "what do ya want for nothing?")),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
  end },
  { "SHA-256 of 'abc' matches FIPS 180-2", function()
    check.eq(crypto.sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  end },
  { "constant_time_equals: equal, different, different length, non-strings", function()
    check.truthy(crypto.constant_time_equals("abc", "abc"))
    check.falsy(crypto.constant_time_equals("abc", "abd"))
    check.falsy(crypto.constant_time_equals("abc", "abcd"))
    check.falsy(crypto.constant_time_equals(nil, "abc"))
    check.falsy(crypto.constant_time_equals({}, {}))
  end },
  { "base64url round trip for every length 0-40 and all byte values", function()
    for n = 0, 40 do
      local bytes = {}
      for i = 1, n do bytes[i] = string.char((i * 37 + n) % 256) end
      local s = table.concat(bytes)
      local encoded = b64url.encode(s)
      check.falsy(encoded:find("[+/=]"), "url-safe alphabet without padding")
      check.eq(b64url.decode(encoded), s, "round trip of " .. n .. " bytes")
    end
  end },
  { "base64url decode refuses padding, standard alphabet and impossible lengths", function()
    check.falsy(b64url.decode("YWJj="))
    check.falsy(b64url.decode("a+b/"))
    check.falsy(b64url.decode("abcde"))
    check.falsy(b64url.decode(nil))
  end },
}
