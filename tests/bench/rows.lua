-- wrk script: rows per second through the inference service's three ways
-- of predicting (scripts/bench.sh, "rows per second"):
--
--   BENCH_KIND=predict   POST /predict, one purchase per request
--   BENCH_KIND=batch     POST /predict/batch, BENCH_N purchases per request
--   BENCH_KIND=oip       POST /v2/models/xgboost/versions/1.0/infer, the six
--                        raw inputs with BENCH_N rows
--
-- Every row is a purchase of a random existing customer (1..BENCH_CUSTOMERS)
-- with the same other fields as tests/bench/predict.lua.  Prints one line:
--   BENCH requests=.. duration_us=.. rows=N status_errors=.. socket_errors=..
local kind = os.getenv("BENCH_KIND") or "predict"
local n = tonumber(os.getenv("BENCH_N") or "") or 1
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "") or 1000
local threads = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
	threads = threads + 1
	thread:set("seed", threads)
end

function init(args)
	math.randomseed(seed or 1)
end

local purchase = '{"customer_id":%d,"purchase_date":"2024-05-01T10:00:00Z","purchase_amount":250.0,'
	.. '"annual_income":65000,"age":35,"gender":"Female"}'

local function repeated(s)
	local t = {}
	for i = 1, n do t[i] = s end
	return table.concat(t, ",")
end

function request()
	if kind == "predict" then
		return wrk.format(nil, nil, nil, '{"model_name":"xgboost","model_version":"1.0","purchase_data":'
			.. string.format(purchase, math.random(1, customers)) .. '}')
	end
	if kind == "batch" then
		local items = {}
		for i = 1, n do items[i] = string.format(purchase, math.random(1, customers)) end
		return wrk.format(nil, nil, nil, '{"model_name":"xgboost","model_version":"1.0","purchases":['
			.. table.concat(items, ",") .. ']}')
	end
	local ids = {}
	for i = 1, n do ids[i] = tostring(math.random(1, customers)) end
	local shape = '"shape":[' .. n .. ']'
	return wrk.format(nil, nil, nil, '{"inputs":['
		.. '{"name":"customer_id","datatype":"INT64",' .. shape .. ',"data":[' .. table.concat(ids, ",") .. ']},'
		.. '{"name":"purchase_date","datatype":"BYTES",' .. shape .. ',"data":[' .. repeated('"2024-05-01T10:00:00Z"') .. ']},'
		.. '{"name":"purchase_amount","datatype":"FP64",' .. shape .. ',"data":[' .. repeated("250.0") .. ']},'
		.. '{"name":"annual_income","datatype":"FP64",' .. shape .. ',"data":[' .. repeated("65000") .. ']},'
		.. '{"name":"age","datatype":"INT64",' .. shape .. ',"data":[' .. repeated("35") .. ']},'
		.. '{"name":"gender","datatype":"BYTES",' .. shape .. ',"data":[' .. repeated('"Female"') .. ']}]}')
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("BENCH requests=%d duration_us=%d rows=%d status_errors=%d socket_errors=%d\n",
		summary.requests, summary.duration, n, e.status, e.connect + e.read + e.write + e.timeout))
end
