dofile("bench/lua/common.lua")
local view = os.getenv("VIEW") or "2"
request = function()
  return wrk.format("GET", "/api/v1/views/" .. view .. "/tickets?limit=25")
end
