#!/usr/bin/env bash
# docker/healthcheck.sh (the images' HEALTHCHECK) against a real HTTP server
# on loopback: 200 passes, 404 and a closed port fail.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
hc="$here/../../docker/healthcheck.sh"
pass=0 fail=0
ok() { echo "ok - healthcheck: $1"; pass=$((pass + 1)); }
bad() { echo "not ok - healthcheck: $1"; fail=$((fail + 1)); }

tmp=$(mktemp -d)
echo ok >"$tmp/healthz"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$tmp" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done

PORT=$port bash "$hc" /healthz 2>/dev/null && ok "200 on /healthz passes" || bad "200 on /healthz passes"
PORT=$port bash "$hc" 2>/dev/null && ok "default path is /healthz" || bad "default path is /healthz"
PORT=$port bash "$hc" /readyz 2>/dev/null && bad "404 fails" || ok "404 fails"
PORT=abc bash "$hc" 2>/dev/null && bad "bad PORT fails" || ok "bad PORT fails"
kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
PORT=$port bash "$hc" 2>/dev/null && bad "closed port fails" || ok "closed port fails"
[ "$fail" -eq 0 ]
