-- HMAC-SHA256 and SHA-256 through LuaJIT FFI to OpenSSL's libcrypto, plus a constant-time comparison.
-- Inside nginx the symbols come from the libcrypto that nginx itself links (Debian's nginx and the
-- OpenResty image both link it dynamically), so ffi.C finds them; plain luajit loads the library.
local ffi = require "ffi"
local bit = require "bit"

local bor, bxor = bit.bor, bit.bxor
local byte, format, concat = string.byte, string.format, table.concat

ffi.cdef [[
const void *EVP_sha256(void);
unsigned char *HMAC(const void *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md, unsigned int *md_len);
unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md);
]]

local function find_libcrypto()
  if pcall(function() return ffi.C.HMAC end) then return ffi.C end
  for _, name in ipairs({ "crypto", "libcrypto.so.3", "libcrypto.so.1.1" }) do
    local ok, lib = pcall(ffi.load, name)
    if ok and pcall(function() return lib.HMAC end) then return lib end
  end
  error("runtime-proxy: OpenSSL libcrypto (HMAC, SHA256) is not available to LuaJIT FFI")
end

local C = find_libcrypto()
local HEX = {}
for i = 0, 255 do HEX[i] = format("%02x", i) end
local digest = ffi.new("unsigned char[32]")
local digest_len = ffi.new("unsigned int[1]")

local M = {}

function M.hmac_sha256(key, message)
  if C.HMAC(C.EVP_sha256(), key, #key, message, #message, digest, digest_len) == nil then
    return nil
  end
  return ffi.string(digest, digest_len[0])
end

function M.sha256_hex(message)
  C.SHA256(message, #message, digest)
  local out = {}
  for i = 0, 31 do out[i + 1] = HEX[digest[i]] end
  return concat(out)
end

-- Compares two strings without an early exit, so response timing tells nothing about
-- how many leading bytes matched (timing attack on signatures and session keys).
function M.constant_time_equals(a, b)
  if type(a) ~= "string" or type(b) ~= "string" or #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do diff = bor(diff, bxor(byte(a, i), byte(b, i))) end
  return diff == 0
end

return M
