-- wrk script of the redirect benchmark: browser-like headers, and one summary line for the driver:
--   BENCH requests=<n> p50_us=<n> p99_us=<n> duration_us=<n> connect=.. read=.. write=.. status=.. timeout=..

wrk.method = "GET"
wrk.headers["User-Agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
  .. "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
wrk.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
wrk.headers["Accept-Language"] = "en-US,en;q=0.9"

-- No request() or response() hook: either one sends every request through Lua and makes wrk, not
-- the server, the bottleneck on 2 cores. Counting comes from wrk's own summary: every completed
-- response that is not an error status (>= 400) is a redirect here, since the servers answer
-- nothing but 302 or an error. wrk keeps at most one request in flight per connection.

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d p50_us=%d p99_us=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, latency:percentile(50), latency:percentile(99),
    summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
