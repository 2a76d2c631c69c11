dofile("bench/lua/common.lua")
request = function()
  return wrk.format("GET", "/api/v1/tickets/" .. (first + math.random(0, count - 1)))
end
