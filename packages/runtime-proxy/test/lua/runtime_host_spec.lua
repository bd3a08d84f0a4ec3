local check = require "check"
local runtime_host = require "oh.runtime_host"

local DOMAIN = "runtime.example.com"
local SLUG = "abcdefghijklmnop"

local function refused(host)
  return function()
    local parsed, reason = runtime_host.parse(host, DOMAIN)
    check.falsy(parsed, host)
    check.truthy(reason, "reason for " .. tostring(host))
  end
end

return {
  { "GIVEN <port>-<slug>.<domain> THEN port and slug are returned", function()
    local parsed = runtime_host.parse("32768-" .. SLUG .. "." .. DOMAIN, DOMAIN)
    check.eq(parsed.port, 32768, "port")
    check.eq(parsed.slug, SLUG, "slug")
  end },
  { "GIVEN port 1 and port 65535 THEN both are accepted", function()
    check.eq(runtime_host.parse("1-" .. SLUG .. "." .. DOMAIN, DOMAIN).port, 1)
    check.eq(runtime_host.parse("65535-" .. SLUG .. "." .. DOMAIN, DOMAIN).port, 65535)
  end },
  { "refuses an extra label in front", refused("a.3000-" .. SLUG .. "." .. DOMAIN) },
  { "refuses the bare runtime domain", refused(DOMAIN) },
  { "refuses a look-alike suffix", refused("3000-" .. SLUG .. "." .. DOMAIN .. ".evil.com") },
  { "refuses a domain that merely ends like ours", refused("3000-" .. SLUG .. ".xruntime.example.com") },
  { "refuses upper case", refused("3000-ABCDEFGHIJKLMNOP." .. DOMAIN) },
  { "refuses an upper-case domain", refused("3000-" .. SLUG .. ".RUNTIME.example.com") },
  { "refuses a leading zero", refused("03000-" .. SLUG .. "." .. DOMAIN) },
  { "refuses port 0", refused("0-" .. SLUG .. "." .. DOMAIN) },
  { "refuses port 65536", refused("65536-" .. SLUG .. "." .. DOMAIN) },
  { "refuses a six-digit port", refused("100000-" .. SLUG .. "." .. DOMAIN) },
  { "refuses a short slug", refused("3000-abcdefghijklmno." .. DOMAIN) },
  { "refuses a long slug", refused("3000-abcdefghijklmnopq." .. DOMAIN) },
  { "refuses base32-invalid digits in the slug", refused("3000-abcdefghijklmn01." .. DOMAIN) },
  { "refuses unicode", refused("3000-abcdefghijklmn\xc3\xa9." .. DOMAIN) },
  { "refuses '..'", refused("3000-" .. SLUG .. ".." .. DOMAIN) },
  { "refuses a port suffix", refused("3000-" .. SLUG .. "." .. DOMAIN .. ":443") },
  { "refuses a trailing dot", refused("3000-" .. SLUG .. "." .. DOMAIN .. ".") },
  { "refuses a missing port", refused("-" .. SLUG .. "." .. DOMAIN) },
  { "refuses two dashes", refused("3000--" .. SLUG .. "." .. DOMAIN) },
  { "refuses an empty or missing host", function()
    check.falsy(runtime_host.parse("", DOMAIN))
    check.falsy(runtime_host.parse(nil, DOMAIN))
    check.falsy(runtime_host.parse({}, DOMAIN))
  end },
  { "refuses a host over 253 characters", refused(string.rep("a", 250) .. "." .. DOMAIN) },
}
