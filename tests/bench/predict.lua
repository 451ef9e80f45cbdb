-- wrk script for POST /predict of mlpipe-inference (scripts/bench.sh).
--
--   BENCH_CUSTOMERS=N wrk -t2 -c32 -d10s --latency -s tests/bench/predict.lua http://127.0.0.1:PORT/predict
--
-- Each request is the old pipeline's body for one purchase of a random
-- existing customer (ids 1..BENCH_CUSTOMERS, all present in the bench data),
-- with the same other fields as the pgbench script, so both sides do the
-- same prediction.  At the end one machine-readable line:
--   BENCH requests=.. duration_us=.. p50_us=.. p99_us=.. status_errors=.. socket_errors=..
-- (status_errors counts responses with status >= 400, wrk's "Non-2xx or 3xx").

local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "") or 1000
local threads = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

-- runs in the main Lua state, once per thread: number the threads
function setup(thread)
	threads = threads + 1
	thread:set("seed", threads)
end

-- runs in each thread's own state: a reproducible sequence per thread
function init(args)
	math.randomseed(seed or 1)
end

local template = '{"model_name":"xgboost","model_version":"1.0","purchase_data":{'
	.. '"customer_id":%d,"purchase_date":"2024-05-01T10:00:00Z","purchase_amount":250.0,'
	.. '"annual_income":65000,"age":35,"gender":"Female"}}'

function request()
	return wrk.format(nil, nil, nil, string.format(template, math.random(1, customers)))
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
		summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
		e.status, e.connect + e.read + e.write + e.timeout))
end
