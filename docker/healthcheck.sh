#!/bin/bash
# mlpipe-healthcheck [PATH]: exit 0 when the service on 127.0.0.1:$PORT
# answers GET PATH (default /healthz) with HTTP status 200, 1 otherwise.
#
# The service images are debian:bookworm-slim, which has no curl or wget.
# Installing curl would add libcurl and a dozen libraries to every image just
# for this probe; bash's /dev/tcp does the same in a few lines with nothing
# added.  Docker's HEALTHCHECK --timeout bounds a server that never answers.
set -u

path=${1:-/healthz}
port=${PORT:-8000}

case $port in
''|*[!0-9]*) echo "healthcheck: bad PORT '$port'" >&2; exit 1 ;;
esac
case $path in
/*) ;;
*) echo "healthcheck: path must start with /" >&2; exit 1 ;;
esac

if ! exec 3<>"/dev/tcp/127.0.0.1/$port"; then
	echo "healthcheck: cannot connect to 127.0.0.1:$port" >&2
	exit 1
fi
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
# First line of the answer: "HTTP/1.x 200 OK"
IFS=' ' read -r _ status _ <&3
exec 3<&-
if [ "${status:-}" = 200 ]; then
	exit 0
fi
echo "healthcheck: GET $path answered ${status:-nothing}" >&2
exit 1
