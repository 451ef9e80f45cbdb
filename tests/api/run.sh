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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
