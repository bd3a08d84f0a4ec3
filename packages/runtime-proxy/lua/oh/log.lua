-- The proxy's own log lines, written from a background timer of each worker instead of inside the
-- request: nginx appends the request line (query string included) to lines logged in a request,
-- and on runtime hosts the query may carry a session key (credential leak into logs). A timer
-- started in init_worker logs through the http-level error_log, with no request attached.
local M = {}

local MAX_PENDING = 1000
local pending, dropped = {}, 0

local function hex(c) return string.format("\\x%02X", c:byte()) end

--- Control bytes (CR, LF, everything below 0x20, 0x7f), bytes of non-ASCII characters and '\' as
--- \xHH: a logged value (a decoded URI, a header, a spawner answer) cannot start a forged line,
--- move the terminal cursor, or pass for an escape written by us. Pure.
function M.escape(text)
  text = tostring(text)
  if not text:find("[%c\128-\255\\]") then return text end
  return (text:gsub("[%c\128-\255\\]", hex))
end

local escape = M.escape

function M.write(level, ...)
  if #pending >= MAX_PENDING then
    dropped = dropped + 1
    return
  end
  -- Log injection: every piece is escaped, whatever its source.
  pending[#pending + 1] = { level, escape(table.concat({ ... })) }
end

local function flush(premature)
  local lines = pending
  pending = {}
  for _, line in ipairs(lines) do ngx.log(line[1], line[2]) end
  if dropped > 0 then
    ngx.log(ngx.WARN, dropped, " log lines dropped (more than ", MAX_PENDING, " pending)")
    dropped = 0
  end
  if premature then return end
end

function M.start(interval_seconds)
  local ok, err = ngx.timer.every(interval_seconds, flush)
  if not ok then error("runtime-proxy: cannot start the log timer: " .. tostring(err)) end
end

return M
