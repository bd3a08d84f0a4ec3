-- base64url (RFC 4648 §5, no padding): encodes signatures and decodes the identity-signing key.
-- Pure Lua over LuaJIT's bit library, so it runs inside nginx and in plain luajit alike.
local bit = require "bit"

local band, lshift, rshift = bit.band, bit.lshift, bit.rshift
local byte, char, concat = string.byte, string.char, table.concat

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local ENCODE, DECODE = {}, {}
for i = 1, #ALPHABET do
  ENCODE[i - 1] = ALPHABET:sub(i, i)
  DECODE[byte(ALPHABET, i)] = i - 1
end

local M = {}

function M.encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = lshift(a, 16) + lshift(b or 0, 8) + (c or 0)
    out[#out + 1] = ENCODE[rshift(n, 18)]
    out[#out + 1] = ENCODE[band(rshift(n, 12), 63)]
    if b then out[#out + 1] = ENCODE[band(rshift(n, 6), 63)] end
    if c then out[#out + 1] = ENCODE[band(n, 63)] end
  end
  return concat(out)
end

-- Returns the decoded bytes, or nil when the text is not unpadded base64url.
function M.decode(s)
  if type(s) ~= "string" or #s % 4 == 1 then return nil end
  local out = {}
  for i = 1, #s, 4 do
    local a, b, c, d = byte(s, i, i + 3)
    local va, vb = DECODE[a], DECODE[b]
    local vc, vd = c and DECODE[c], d and DECODE[d]
    if not va or not vb or (c and not vc) or (d and not vd) then return nil end
    local n = lshift(va, 18) + lshift(vb, 12) + lshift(vc or 0, 6) + (vd or 0)
    out[#out + 1] = char(rshift(n, 16))
    if c then out[#out + 1] = char(band(rshift(n, 8), 255)) end
    if d then out[#out + 1] = char(band(n, 255)) end
  end
  return concat(out)
end

return M
