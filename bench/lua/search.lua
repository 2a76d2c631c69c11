dofile("bench/lua/common.lua")
request = function()
  return wrk.format("GET", "/api/v1/search?q=printer%20ref" .. math.random(0, 999))
end
