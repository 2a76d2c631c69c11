dofile("bench/lua/common.lua")
request = function()
  return wrk.format("POST", "/api/v1/tickets/" .. (first + math.random(0, count - 1)) .. "/comments", nil,
    '{"body":"Thanks, we are looking into it and will update you shortly."}')
end
