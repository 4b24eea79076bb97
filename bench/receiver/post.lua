-- wrk script: POST Alertmanager 0.25's firing webhook to amas-scaler's receiver.
-- AMAS_BENCH_BODY names the body file, AMAS_BENCH_TOKEN the bearer token.
local f = assert(io.open(os.getenv("AMAS_BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "Alertmanager/0.25.0"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("AMAS_BENCH_TOKEN")

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx/3xx: %d, socket errors: connect %d read %d write %d timeout %d\n",
    summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
end
