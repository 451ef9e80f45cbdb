#!/usr/bin/env bash
# The api suite of make test: the services' OpenAPI documents and pages.
#
#   validate_openapi.js   each document against OpenAPI 3.1 (swagger-parser)
#   --check-openapi       each binary's routes against its embedded document
#   self-tests            a document with a broken schema must fail the
#                         validator; a document lacking a route, or with
#                         one the service does not answer, must fail the
#                         binary's check
#   browser.js            (when the database is there) Debian's chromium,
#                         driven by playwright-core, on /docs of every service
#                         and the registry's console; screenshots in var/browser
#
# npm modules: tests/api/package-lock.json, installed by scripts/npm-ci.sh
# into var/api-tools.  Ends with "N passed, M failed".
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${MLPIPE_BIN:-$top/build/bin}
tmp=$(mktemp -d /tmp/mlpipe-api.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
count() {
	local line
	while IFS= read -r line; do
		echo "$line"
		case $line in
		'ok - '*) pass=$((pass + 1)) ;;
		'not ok - '*) fail=$((fail + 1)) ;;
		esac
	done
}

if ! "$top/scripts/npm-ci.sh" "$here" "$top/var/api-tools" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	not_ok "npm modules of tests/api (scripts/npm-ci.sh)"
	echo "$pass passed, $fail failed"
	exit 1
fi

count < <(node "$here/validate_openapi.js" 2>&1)

# self-tests: the validator must refuse a broken schema, a response
# without its required description, a $ref to nothing
node -e '
const fs = require("fs");
const load = () => JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
let d = load();
d.paths["/healthz"].get.responses["200"].content["application/json"].schema = {type: "no-such-type"};
fs.writeFileSync(process.argv[2] + "/schema.json", JSON.stringify(d));
d = load();
delete d.paths["/healthz"].get.responses["200"].description;
fs.writeFileSync(process.argv[2] + "/description.json", JSON.stringify(d));
d = load();
d.paths["/healthz"].get.responses["200"].content["application/json"].schema = {$ref: "#/components/schemas/Nothing"};
fs.writeFileSync(process.argv[2] + "/ref.json", JSON.stringify(d));' \
	"$top/services/registry/openapi.json" "$tmp"
for broken in schema description ref; do
	if node "$here/validate_openapi.js" "$tmp/$broken.json" >"$tmp/broken.out" 2>&1; then
		not_ok "the validator accepts a document with a broken $broken: $(cat "$tmp/broken.out")"
	else
		ok "the validator refuses a document with a broken $broken"
	fi
done

# self-test of the e2e suite's response check: a body off its schema and
# an undocumented status must fail, a right one pass
printf '%s\n' '{"service":"registry","method":"GET","path":"/healthz","status":200,"content_type":"application/json","body":"{\"status\":\"ok\"}"}' >"$tmp/good.jsonl"
printf '%s\n' '{"service":"inference","method":"GET","path":"/models","status":200,"content_type":"application/json","body":"[{\"model_name\":5}]"}' >"$tmp/body.jsonl"
printf '%s\n' '{"service":"registry","method":"GET","path":"/healthz","status":418,"content_type":"application/json","body":"{}"}' >"$tmp/status.jsonl"
if node "$here/validate_responses.js" "$tmp/good.jsonl" >/dev/null 2>&1; then
	ok "the response check passes a response that matches its schema"
else
	not_ok "the response check fails a right response"
fi
for bad in body status; do
	if node "$here/validate_responses.js" "$tmp/$bad.jsonl" >"$tmp/bad.out" 2>&1; then
		not_ok "the response check passes a wrong $bad: $(cat "$tmp/bad.out")"
	else
		ok "the response check fails a wrong $bad"
	fi
done

for svc in registry preprocessing inference; do
	doc=$top/services/$svc/openapi.json
	if out=$("$bin/mlpipe-$svc" --check-openapi 2>&1); then
		ok "mlpipe-$svc: routes and embedded OpenAPI document agree"
	else
		not_ok "mlpipe-$svc: routes and document differ: $out"
	fi
	# self-tests: one route taken out of the document, one path added to it
	node -e '
const d = require(process.argv[1]);
delete d.paths["/healthz"];
require("fs").writeFileSync(process.argv[2], JSON.stringify(d));
d.paths["/healthz"] = {get: {responses: {}}};
d.paths["/no/such/route"] = {get: {responses: {}}};
require("fs").writeFileSync(process.argv[3], JSON.stringify(d));' "$doc" "$tmp/less.json" "$tmp/more.json"
	if out=$("$bin/mlpipe-$svc" --check-openapi "$tmp/less.json" 2>&1); then
		not_ok "mlpipe-$svc: a document without GET /healthz passes the check"
	elif grep -q 'route GET /healthz is not in the OpenAPI document' <<<"$out"; then
		ok "mlpipe-$svc: a route missing from the document fails the check"
	else
		not_ok "mlpipe-$svc: unexpected check output: $out"
	fi
	if out=$("$bin/mlpipe-$svc" --check-openapi "$tmp/more.json" 2>&1); then
		not_ok "mlpipe-$svc: a document with GET /no/such/route passes the check"
	elif grep -q 'has GET /no/such/route, which the service does not answer' <<<"$out"; then
		ok "mlpipe-$svc: a documented path the service lacks fails the check"
	else
		not_ok "mlpipe-$svc: unexpected check output: $out"
	fi
done

# ---- the browser test: real services on a database of their own ----------
# Needs the cluster make test started (PG* set) and the built binaries.
browser_test() {
	local db=mlpipe_browser_$$ logdir=$tmp/browser token=browser-token-$$
	local pids=() ports=() port=$((23000 + ($$ % 1000) * 3)) svc csv
	mkdir -p "$logdir"
	if ! command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null; then
		not_ok "browser test: chromium is missing (make deps installs Debian's chromium)"
		return
	fi
	# a database with the three default models, two versions of xgboost,
	# a tuning run when the extension has mlpipe_tune
	csv=$tmp/purchases.csv
	"$top/build/bin/mlpipe-gen-purchases" --customers 400 --seed 3 --output "$csv" >/dev/null
	if ! { createdb "$db" &&
		PGDATABASE=$db psql -XAtq -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION mlpipe' &&
		PGDATABASE=$db psql -XAtq -v ON_ERROR_STOP=1 -f "$top/sql/roles.sql" &&
		PGDATABASE=$db psql -XAtq -v ON_ERROR_STOP=1 -v csv="$csv" -f "$top/sql/load_purchases.sql" &&
		PGDATABASE=$db psql -XAtq -v ON_ERROR_STOP=1 -c "
			SELECT mlpipe_train(a, a, '1.0', '{}') FROM unnest(ARRAY['xgboost', 'random_forest', 'linear']) a;
			SELECT mlpipe_train('xgboost', 'xgboost', '1.1', '{\"max_depth\": 3}');"; } >"$logdir/setup.log" 2>&1; then
		not_ok "browser test: database setup: $(tail -5 "$logdir/setup.log")"
		dropdb --if-exists "$db" 2>/dev/null
		return
	fi
	if [ "$(PGDATABASE=$db psql -XAtq -c "SELECT to_regproc('mlpipe_tune') IS NOT NULL")" = t ]; then
		PGDATABASE=$db psql -XAtq -v ON_ERROR_STOP=1 -c \
			"SELECT mlpipe_tune('xgboost', 'xgboost', '1.2', '{\"trials\": 4, \"folds\": 2}')" >>"$logdir/setup.log" 2>&1 ||
			not_ok "browser test: mlpipe_tune: $(tail -3 "$logdir/setup.log")"
	fi
	for svc in registry preprocessing inference; do
		port=$(free_port "$port")
		ports+=("$port")
		PGDATABASE=$db PGUSER=mlpipe_$svc MLPIPE_API_TOKEN=$token MLPIPE_THREADS=2 HOST=127.0.0.1 PORT=$port \
			"$bin/mlpipe-$svc" 2>"$logdir/$svc.log" &
		pids+=($!)
		port=$((port + 1))
	done
	for port in "${ports[@]}"; do
		for _ in $(seq 1 100); do
			curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
			sleep 0.1
		done
	done
	count < <(REGISTRY=http://127.0.0.1:${ports[0]} PREPROCESSING=http://127.0.0.1:${ports[1]} \
		INFERENCE=http://127.0.0.1:${ports[2]} TOKEN=$token node "$here/browser.js" 2>&1)
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
	dropdb --if-exists "$db" >/dev/null 2>&1
	echo "# screenshots: $(ls "$top"/var/browser/*.png 2>/dev/null | tr '\n' ' ')"
}

if [ -n "${PGPORT:-}${DATABASE_URL:-}" ] && [ -x "$bin/mlpipe-registry" ]; then
	browser_test
else
	echo "# skip: the browser test needs the database make test starts (PG* set)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
