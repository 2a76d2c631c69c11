-- Inbound mail as an MTA posts it: two messages in three open a ticket (from 200 senders),
-- one answers ticket TICKET as its requester REPLIER (subject tag). Each has its own
-- Message-ID, so none is a duplicate.
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
wrk.headers["Content-Type"] = "message/rfc822"
local ticket = os.getenv("TICKET") or "1"
local replier = os.getenv("REPLIER") or "bench@example.com"
math.randomseed(os.time())
local n = 0
local thread_id = math.random(1, 1000000000)

request = function()
  n = n + 1
  local from, subject, body
  if n % 3 == 0 then
    from = replier
    subject = "Re: [#" .. ticket .. "] Mail bench"
    body = "Still broken, see below.\r\n\r\nOn Tue, 1 Dec 2026 at 10:00, Support <support@desk.example> wrote:\r\n> Have you tried turning it off and on?\r\n"
  else
    from = string.format("sender%d@bench.example", math.random(1, 200))
    subject = string.format("Printer %d is offline", math.random(1, 1000000))
    body = "The printer on floor 3 is offline again since this morning.\r\n"
  end
  local msg = "From: Bench Sender <" .. from .. ">\r\n"
    .. "To: support@desk.example\r\n"
    .. "Subject: " .. subject .. "\r\n"
    .. string.format("Message-ID: <bench-%d-%d@bench.example>\r\n", thread_id, n)
    .. "Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
    .. "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" .. body
  return wrk.format("POST", "/api/v1/mail/inbound", nil, msg)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
