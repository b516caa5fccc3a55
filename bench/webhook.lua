-- wrk script of the webhook benchmark (bench/webhook.py): every request is a different, signed,
-- pre-generated webhook, never a repeat. Usage: wrk ... -s bench/webhook.lua <url> -- <prefix>
-- Thread i (1-based) loads its own slice, <prefix>.<i>.txt: one request per line,
-- "<X-Signature value>\t<JSON body>", POSTed to the URL's path in file order.
-- One summary line for the driver:
--   BENCH requests=<n> p50_us=.. p99_us=.. duration_us=.. connect=.. read=.. write=.. status=.. timeout=..
--         issued=<request() calls> loaded=<lines loaded> exhausted=<threads that ran out>
-- No response() hook (it would make wrk parse every response in Lua): the counts come from wrk's
-- summary, where status counts responses >= 400. wrk keeps at most one request in flight per
-- connection, so issued - requests is what was in flight (or lost on a socket error) when it stopped,
-- plus one: before starting the first thread wrk calls its request() once to check what it returns,
-- and never sends that request (that thread's first line is simply not used).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("slice", #threads)
end

local lines = {}
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  issued, loaded, exhausted = 0, 0, 0
  local name = string.format("%s.%d.txt", args[1], slice)
  local file = assert(io.open(name, "rb"))
  for line in file:lines() do
    loaded = loaded + 1
    lines[loaded] = line
  end
  file:close()
end

function request()
  local line = lines[issued + 1]
  if line == nil then
    -- Out of requests: a repeat would take the service's cheaper duplicate path, so stop this
    -- thread instead; the driver treats this as a harness failure (generate more).
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/-bench-exhausted-")
  end
  issued = issued + 1
  local tab = line:find("\t", 1, true)
  headers["X-Signature"] = line:sub(1, tab - 1)
  return wrk.format("POST", wrk.path, headers, line:sub(tab + 1))
end

function done(summary, latency, requests)
  local issued_n, loaded_n, exhausted_n = 0, 0, 0
  for _, thread in ipairs(threads) do
    issued_n = issued_n + thread:get("issued")
    loaded_n = loaded_n + thread:get("loaded")
    exhausted_n = exhausted_n + thread:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d p50_us=%d p99_us=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d "
      .. "issued=%d loaded=%d exhausted=%d\n",
    summary.requests, latency:percentile(50), latency:percentile(99), summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout, issued_n, loaded_n, exhausted_n))
end
