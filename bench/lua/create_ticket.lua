dofile("bench/lua/common.lua")
local requester = tonumber(os.getenv("REQUESTER") or "1")
request = function()
  local body = string.format('{"subject":"Load test %d","description":"The printer on floor %d is offline again.","requester_id":%d}',
    math.random(1, 1000000), math.random(1, 9), requester)
  return wrk.format("POST", "/api/v1/tickets", nil, body)
end
