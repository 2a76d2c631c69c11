-- Shared by every scenario: bearer token from the environment, and one result line.
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
wrk.headers["Content-Type"] = "application/json"
first = tonumber(os.getenv("FIRST") or "1")
count = tonumber(os.getenv("COUNT") or "1")
math.randomseed(os.time())

-- With several wrk threads (THREADS), each thread's Lua state gets its own number so their
-- random sequences differ (each state would otherwise seed with the same second).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function init(args)
  math.randomseed(os.time() * 64 + (thread_number or 0))
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
