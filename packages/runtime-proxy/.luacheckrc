-- luacheck for the proxy's Lua (run by `pnpm lint`): OpenResty's globals, the project's line width.
std = "ngx_lua"
max_line_length = 140
codes = true
files["test/lua"] = { std = "+busted" }
exclude_files = { "lua/oh/page_assets.lua" } -- written by the build from packages/contracts
