-- wrk script: count what every response was, then print the run's totals as one JSON line
-- (parsed by bench/measure.ts). Latencies are in microseconds; bytes count everything read.
--
-- Usage: wrk ... -s wrk-report.lua URL [-- EXPECTED_BODY_FILE [EXPECTED_STATUS]]
--   With EXPECTED_BODY_FILE (the 1 KiB loads) every response's status and body are checked: each
--   is counted as 200 with exactly those bytes, another 2xx, 1xx/3xx/4xx/5xx, or 200 with other bytes.
--   EXPECTED_STATUS (default 200; 302 for the redirect targets, with an empty file) is the status
--   counted in place of 200: ok200 then means "that status with exactly those bytes".
--   Without it (the 100 MiB loads) no response callback is installed: wrk would copy every body into
--   Lua first. Those loads are checked by counting instead (bench/measure.ts): wrk's own >= 400 count,
--   requests sent against responses completed (a body cut short is no completed response), and the
--   bytes read against the completed responses' size.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per thread (each runs its own Lua state); read back in done() through thread:get().
sent, ok200, other2xx, s1xx, s3xx, s4xx, s5xx, wrongBody, checked = 0, 0, 0, 0, 0, 0, 0, 0, 0

local expected = nil
local expectedStatus = 200
local prepared = nil

function init(args)
  local file = args[1]
  if file ~= nil and file ~= "" then
    local handle = assert(io.open(file, "rb"))
    expected = handle:read("*a")
    handle:close()
    checked = 1
    if args[2] ~= nil and args[2] ~= "" then expectedStatus = tonumber(args[2]) end
  else
    -- wrk installs its body-buffering callbacks only when `response` is a function after init().
    response = nil
  end
  prepared = wrk.format()
end

-- Called once per request written, so requests that never complete can be counted.
function request()
  sent = sent + 1
  return prepared
end

function response(status, headers, body)
  if status == expectedStatus then
    if body == expected then ok200 = ok200 + 1 else wrongBody = wrongBody + 1 end
  elseif status >= 200 and status < 300 then other2xx = other2xx + 1
  elseif status < 200 then s1xx = s1xx + 1
  elseif status < 400 then s3xx = s3xx + 1
  elseif status < 500 then s4xx = s4xx + 1
  else s5xx = s5xx + 1 end
end

done = function(summary, latency, requests)
  local totals = { checked = 0, sent = 0, ok200 = 0, other2xx = 0, s1xx = 0, s3xx = 0, s4xx = 0, s5xx = 0, wrongBody = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do totals[name] = totals[name] + (thread:get(name) or 0) end
  end
  -- wrk calls request() once more before the run, to check the request it returns
  -- (script_verify_request): that one was never sent.
  totals.sent = totals.sent - 1
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"bytes":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"checked":%s,"sent":%d,"ok200":%d,"other2xx":%d,"s1xx":%d,"s3xx":%d,"s4xx":%d,"s5xx":%d,"wrongBody":%d,' ..
    '"p50Us":%d,"p90Us":%d,"p99Us":%d,"meanUs":%.1f,"maxUs":%d}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    totals.checked > 0 and "true" or "false", totals.sent, totals.ok200, totals.other2xx, totals.s1xx, totals.s3xx,
    totals.s4xx, totals.s5xx, totals.wrongBody,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
