-- Runs pure-Lua specs outside nginx: luajit test/lua/run.lua <spec file>...
-- A spec file returns a list of {name, function}; each line of output is PASS<TAB>name or
-- FAIL<TAB>name<TAB>error. The jest test lua-units.test.ts turns the lines into tests.
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/../../lua/?.lua;" .. here .. "/?.lua;" .. package.path

for i = 1, #arg do
  local ok, cases = pcall(dofile, arg[i])
  if not ok then
    io.write("FAIL\t", arg[i], "\t", tostring(cases):gsub("[\t\n]", " "), "\n")
  else
    for _, case in ipairs(cases) do
      local passed, err = pcall(case[2])
      if passed then
        io.write("PASS\t", case[1], "\n")
      else
        io.write("FAIL\t", case[1], "\t", tostring(err):gsub("[\t\n]", " "), "\n")
      end
    end
  end
end
