-- An end user of the read-only organization reads a colleague's ticket (every tenth ticket).
dofile("bench/lua/common.lua")
request = function()
  return wrk.format("GET", "/api/v1/tickets/" .. (first - 1 + 10 * math.random(1, math.floor(count / 10))))
end
