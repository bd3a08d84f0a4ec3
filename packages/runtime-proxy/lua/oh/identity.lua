-- The signed identity that the edge adds to every request (docs/CONTRACTS.md, "Identity from the
-- edge to the proxy"): x-oh-user, x-oh-user-slug, x-oh-email, x-oh-exp, x-oh-sig.
-- Pure: the caller passes the header values, the key and the clock.
local b64url = require "oh.b64url"
local crypto = require "oh.crypto"

local M = {}

M.HEADERS = { "x-oh-user", "x-oh-user-slug", "x-oh-email", "x-oh-exp", "x-oh-sig" }

function M.canonical(host, sub, slug, email, exp)
  return "v1\n" .. host .. "\n" .. sub .. "\n" .. slug .. "\n" .. email .. "\n" .. exp
end

function M.sign(key, host, sub, slug, email, exp)
  return b64url.encode(crypto.hmac_sha256(key, M.canonical(host, sub, slug, email, exp)))
end

local function is_slug(s)
  return #s == 16 and s:find("^[a-z2-7]+$") ~= nil
end

-- A field of the signed text must be a single header value without control characters:
-- a repeated header (table) or an embedded newline could shift the fields of the signed text
-- (canonicalization attack).
local function plain(value, max_len)
  return type(value) == "string" and #value <= max_len and not value:find("%c")
end

--- Verifies the identity headers.
-- @param key     the raw 32-byte identity-signing key
-- @param host    the request's Host header, exactly as received
-- @param headers table of lower-case header name -> value (string, or table when repeated)
-- @param now     unix seconds
-- @param opts    { skew = seconds of clock skew tolerated, max_ahead = how far exp may lie ahead }
-- @return identity {sub, slug, email, exp} or nil, reason ("missing" | "malformed" | "bad signature" | "expired" | "not yet valid")
function M.verify(key, host, headers, now, opts)
  local sub, slug, email = headers["x-oh-user"], headers["x-oh-user-slug"], headers["x-oh-email"]
  local exp, sig = headers["x-oh-exp"], headers["x-oh-sig"]
  if sub == nil and slug == nil and email == nil and exp == nil and sig == nil then
    return nil, "missing"
  end
  if not (plain(sub, 256) and #sub > 0 and plain(slug, 16) and is_slug(slug) and plain(email, 320)
      and plain(exp, 12) and exp:find("^%d+$") and plain(sig, 43) and #sig == 43
      and sig:find("^[A-Za-z0-9_-]+$") and plain(host, 253)) then
    return nil, "malformed"
  end
  local expected = M.sign(key, host, sub, slug, email, exp)
  -- Forged identity headers (header spoofing, a request that bypassed the edge, a signature
  -- minted for another host): the HMAC covers the host and every field.
  if not crypto.constant_time_equals(expected, sig) then
    return nil, "bad signature"
  end
  local expires = tonumber(exp)
  -- Replay of a captured identity after it expired.
  if now > expires + opts.skew then
    return nil, "expired"
  end
  -- An identity minted far into the future would be a long-lived replayable credential.
  if expires > now + opts.max_ahead then
    return nil, "not yet valid"
  end
  return { sub = sub, slug = slug, email = email, exp = expires }
end

local function fresh(who, now, opts)
  -- Replay of a captured identity after it expired: checked on every request, cached or not.
  if now > who.exp + opts.skew then return nil, "expired" end
  -- An identity minted far into the future would be a long-lived replayable credential.
  if who.exp > now + opts.max_ahead then return nil, "not yet valid" end
  return who
end

--- M.verify, remembering each identity that passed in `cache` (per worker: get(k) and set(k, v, ttl),
--- e.g. resty.lrucache) until it expires, so a hit skips the HMAC. The cache key is the signature, and
--- a hit must also match the host and every field exactly and pass the expiry checks again.
--- Only identities that verified are stored. Same results as M.verify.
function M.verify_cached(cache, key, host, headers, now, opts)
  local sub, slug, email = headers["x-oh-user"], headers["x-oh-user-slug"], headers["x-oh-email"]
  local exp, sig = headers["x-oh-exp"], headers["x-oh-sig"]
  local cache_key
  if type(sub) == "string" and type(slug) == "string" and type(email) == "string" and type(exp) == "string"
      and type(sig) == "string" and type(host) == "string" then
    -- The signature text as it came (already a Lua string): no key is built per request.
    cache_key = sig
    local who = cache:get(cache_key)
    -- A tampered field or another host with a cached signature: every signed field is compared with
    -- the entry that verified (forged identity riding on a cached one).
    if who and who.host == host and who.sub == sub and who.slug == slug and who.email == email
        and who.exp_text == exp and who.sig == sig then
      return fresh(who, now, opts)
    end
  end
  local who, reason = M.verify(key, host, headers, now, opts)
  if who and cache_key then
    who.host, who.exp_text, who.sig = host, exp, sig
    cache:set(cache_key, who, who.exp + opts.skew - now + 1)
  end
  return who, reason
end

return M
