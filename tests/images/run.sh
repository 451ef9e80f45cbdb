#!/usr/bin/env bash
# The images suite: every image built from docker/ as it is, the stack
# started as docker/docker-compose.yml describes it, and the old pipeline's
# client calls run against it.  With Debian's podman, as root, no Docker
# daemon and no container registry.
#
#   tests/images/run.sh            (make test runs it as the suite "images")
#
#  1. docker.io/library/debian:bookworm-slim from Debian's mirror
#     (tests/images/base.sh: debootstrap, cached in var/images), and the
#     stand-in for postgres:15-bookworm (tests/images/Dockerfile.pg-base);
#  2. docker-compose (Debian's 1.29) on podman's Docker API builds the four
#     images of the compose file: mlpipe-postgres with
#     MLPIPE_PG_BASE=the stand-in, model-registry, preprocessing-service,
#     inference-service, each from its Dockerfile in docker/;
#  3. what the images hold: no compiler, no apt lists, every shared library
#     of the binaries and of mlpipe.so found;
#  4. docker-compose up: postgres (healthy) -> bootstrap (exit 0) -> the
#     three services, published on free ports of 127.0.0.1;
#  5. the health checks turn healthy; each service runs as uid 10001 (not
#     root) on a read-only root file system;
#  6. tests/images/client.py: register a model file, info, latest, list,
#     download, remove, /preprocess, /predict with each default model;
#  7. docker-compose stop: SIGTERM, every container exits 0 in time;
#  8. docker-compose down -v, the four images removed, and nothing of the
#     project is left.
#
# Everything podman stores lives in var/images (its own image store and the
# base tarball), never in the machine's default store; only the stack's
# network is made where podman keeps networks, so that concurrent runs from
# other checkouts see it and take other subnets.  The suite removes the containers, volumes, network and the four images it
# made, and keeps the two base images and the build cache so that the next
# run does not fetch and compile the same packages again.
#
# podman runs with runc and cgroupfs (no systemd here), and with no default
# rlimits (runc cannot set them in this sandbox).  Without systemd podman
# does not schedule health checks itself: the suite runs them every two
# seconds with `podman healthcheck run`, which records the status as the
# timer would, and docker-compose waits on that status.
#
# Settings: MLPIPE_IMAGES_KEEP=1 leaves the stack up and its images (ports
# printed); MLPIPE_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/lib.sh"
cd "$top" || exit 1

var=$top/var/images
mkdir -p "$var/logs"
: >"$var/logs/down.log"
export MLPIPE_IMAGES_VAR=$var
# state that must not outlive a reboot goes to /run, one directory per checkout
run=/run/mlpipe-images-$(printf '%s' "$var" | sha256sum | cut -c1-12)
mkdir -p "$run"
project=mlpipe-images-$$
compose=(docker-compose -p "$project" -f docker/docker-compose.yml)
stack_images="mlpipe-postgres:latest model-registry:latest preprocessing-service:latest inference-service:latest"
services="model-registry preprocessing-service inference-service"
models="xgboost random_forest linear"
pg_base=mlpipe-test-pg-base:15

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
elapsed() { echo $((SECONDS - $1))s; }

cat >"$var/containers.conf" <<EOF
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$run/tmp"
EOF
cat >"$var/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$var/store"
runroot = "$run/storage"
EOF
export CONTAINERS_CONF=$var/containers.conf CONTAINERS_STORAGE_CONF=$var/storage.conf
export DOCKER_HOST=unix://$run/podman-$$.sock
# docker-compose's own HTTP timeout; image builds answer late
export COMPOSE_HTTP_TIMEOUT=600 DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

# The stack's containers, network and volume (down -v), and its four
# images by id, every name at once.  --no-prune keeps their untagged parent
# layers: the build cache of the next run.  Cache layers older than a week
# go, so that the packages in them are fetched anew now and then.
remove_stack() {
	"${compose[@]}" down -v -t 5 >>"$var/logs/down.log" 2>&1
	local ids i
	# whatever down left (a container of a failed build, a volume)
	ids=$(podman ps -aq --filter "label=com.docker.compose.project=$project" 2>/dev/null)
	[ -n "$ids" ] && podman rm -f -t 2 $ids >/dev/null 2>&1
	podman volume rm -f mlpipe-pgdata >/dev/null 2>&1
	for i in $stack_images; do
		ids=$(podman image inspect --format '{{.Id}}' "$i" 2>/dev/null) &&
			podman rmi -f --no-prune "$ids" >/dev/null 2>&1
	done
	podman image prune -f --filter until=168h >/dev/null 2>&1
}
service_pid="" ticker_pid="" removed=0
cleanup() {
	if [ "${MLPIPE_IMAGES_KEEP:-0}" = 1 ]; then
		echo "images: kept the stack; to remove it: DOCKER_HOST=$DOCKER_HOST" \
			"CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF" \
			"${compose[*]} down -v; kill $ticker_pid $service_pid"
		return
	fi
	[ -n "$ticker_pid" ] && kill "$ticker_pid" 2>/dev/null
	if [ -n "$service_pid" ]; then
		[ "$removed" = 1 ] || remove_stack
		kill "$service_pid" 2>/dev/null
		wait "$service_pid" 2>/dev/null
	fi
	rm -f "$run/podman-$$.sock"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in podman runc debootstrap docker-compose curl; do
	command -v "$tool" >/dev/null || { fail "$tool is missing (scripts/deps.sh installs it)"; finish; }
done
[ "$(id -u)" -eq 0 ] || { fail "the images suite runs podman as root (rootless podman cannot here)"; finish; }

# ---- 1. the bases ----------------------------------------------------------
t=$SECONDS
if base=$("$here/base.sh"); then
	ok "base image $base from Debian's mirror ($(elapsed $t))"
else
	fail "base image (tests/images/base.sh)"
	finish
fi
t=$SECONDS
if podman build -q --layers -t "$pg_base" -f "$here/Dockerfile.pg-base" "$here" >"$var/logs/pg-base.log" 2>&1; then
	ok "stand-in for postgres:15-bookworm built as $pg_base ($(elapsed $t))"
else
	tail -30 "$var/logs/pg-base.log"
	fail "stand-in for postgres:15-bookworm (tests/images/Dockerfile.pg-base)"
	finish
fi

# podman's Docker API for docker-compose, and the health-check timer
podman system service --time=0 "$DOCKER_HOST" >"$var/logs/podman-service.log" 2>&1 &
service_pid=$!
for _ in $(seq 1 50); do
	curl -fsS --unix-socket "${DOCKER_HOST#unix://}" http://d/_ping >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fsS --unix-socket "${DOCKER_HOST#unix://}" http://d/_ping >/dev/null 2>&1 ||
	{ fail "podman system service did not answer"; finish; }
(
	while sleep 2; do
		for c in $(podman ps -q --filter "label=com.docker.compose.project=$project" 2>/dev/null); do
			podman healthcheck run "$c" >/dev/null 2>&1 &
		done
		wait
	done
) &
ticker_pid=$!

# ---- 2. the images, as the compose file builds them ---------------------------
export MLPIPE_PG_BASE=localhost/$pg_base
t=$SECONDS
if "${compose[@]}" build >"$var/logs/build.log" 2>&1; then
	ok "docker-compose build: $stack_images ($(elapsed $t))"
else
	grep -v '^ ---> \|^Step \|^Removing intermediate' "$var/logs/build.log" | tail -40
	fail "docker-compose build (log: $var/logs/build.log)"
	finish
fi
declare -A size
for i in $stack_images; do
	s=$(podman image inspect --format '{{.Size}}' "$i" 2>/dev/null)
	size[$i]=$s
	echo "# image $i: $((s / 1000000)) MB"
done

# ---- 3. what the images hold --------------------------------------------------
# each image's shared objects and the programs that must not be there
inspect_image() { # IMAGE FILE... : exit status 1 and a report when anything is off
	podman run --rm --no-healthcheck --user 0 --entrypoint /bin/bash "$1" -c '
		bad=0
		for f in "$@"; do
			[ -e "$f" ] || { echo "$f: missing"; bad=1; continue; }
			if ldd "$f" | grep "not found"; then bad=1; fi
		done
		for p in cc gcc make g++ ld; do
			command -v "$p" >/dev/null && { echo "compiler tool $p present"; bad=1; }
		done
		[ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v "^lock$\|^partial$")" ] ||
			{ echo "apt lists present"; bad=1; }
		exit $bad' inspect "${@:2}"
}
for s in $services; do
	bin=$(podman image inspect --format '{{join .Config.Cmd " "}}' "$s:latest")
	if out=$(inspect_image "$s:latest" "$bin" 2>&1); then
		ok "$s image: $bin and its libraries, no compiler, no apt lists"
	else
		fail "$s image: $out"
	fi
done
if out=$(inspect_image mlpipe-postgres:latest /usr/lib/postgresql/15/lib/mlpipe.so \
	/usr/local/bin/mlpipe-gen-purchases /usr/local/bin/mlpipe-bootstrap 2>&1); then
	ok "mlpipe-postgres image: mlpipe.so, the generator and their libraries, no compiler, no apt lists"
else
	fail "mlpipe-postgres image: $out"
fi

# ---- 4. the stack ------------------------------------------------------------
MLPIPE_PG_PORT=$(free_port 28432) &&
	reg_port=$(free_port 28000) && pre_port=$(free_port $((reg_port + 1))) &&
	inf_port=$(free_port $((pre_port + 1))) || { fail "no free ports"; finish; }
export MLPIPE_PG_PORT
export MLPIPE_REGISTRY_PORT=127.0.0.1:$reg_port MLPIPE_PREPROCESSING_PORT=127.0.0.1:$pre_port \
	MLPIPE_INFERENCE_PORT=127.0.0.1:$inf_port
t=$SECONDS
# up waits for postgres' health and bootstrap's success before it starts
# the services, as the compose file's depends_on conditions say
if timeout 600 "${compose[@]}" up -d --no-build >"$var/logs/up.log" 2>&1; then
	ok "docker-compose up: postgres healthy, bootstrap done, services started ($(elapsed $t))"
else
	cat "$var/logs/up.log"
	"${compose[@]}" logs --no-color --tail 40 2>&1 | tail -80
	fail "docker-compose up"
	finish
fi
# each service's container, looked up once (docker-compose is slow to start)
declare -A cids
while read -r svc id; do
	cids[$svc]=$id
done < <(podman ps -a --filter "label=com.docker.compose.project=$project" \
	--format '{{index .Labels "com.docker.compose.service"}} {{.ID}}')
cid() { echo "${cids[$1]:-none}"; }
state() { podman inspect --format "$2" "$(cid "$1")" 2>/dev/null; }

code=$(state bootstrap '{{.State.ExitCode}}')
[ "$code" = 0 ] && ok "bootstrap exited 0" || fail "bootstrap exit status $code"
if "${compose[@]}" logs --no-color bootstrap 2>&1 | grep -q 'bootstrap: done'; then
	ok "bootstrap trained $models"
else
	"${compose[@]}" logs --no-color bootstrap | tail -20
	fail "bootstrap did not finish its steps"
fi

# ---- 5. health, user, read-only --------------------------------------------
# healthy within the images' start periods; a container that exited or was
# restarted (restart: unless-stopped hides a crash) fails at once
t=$SECONDS
while :; do
	unhealthy="" crashed=""
	for s in postgres $services; do
		read -r st health restarts <<<"$(state "$s" '{{.State.Status}} {{.State.Health.Status}} {{.RestartCount}}')"
		[ "${st:-}" = running ] && [ "${restarts:-0}" = 0 ] || crashed+=" $s"
		[ "${health:-}" = healthy ] || unhealthy+=" $s"
	done
	[ -z "$unhealthy" ] || [ -n "$crashed" ] || [ $((SECONDS - t)) -ge 90 ] && break
	sleep 1
done
if [ -z "$unhealthy$crashed" ]; then
	ok "health checks: postgres and the three services healthy ($(elapsed $t))"
else
	for s in $unhealthy $crashed; do
		echo "# $s: $(state "$s" '{{.State.Status}}, exit status {{.State.ExitCode}}, health {{.State.Health.Status}}, restarted {{.RestartCount}} times')"
		podman logs --tail 5 "$(cid "$s")" 2>&1 | sed 's/^/#   /'
	done
	fail "health checks: not healthy:$unhealthy${crashed:+; exited or restarted:$crashed}"
	finish
fi
for s in $services; do
	c=$(cid "$s")
	uid=$(podman exec "$c" sh -c 'id -u' 2>&1)
	ro=$(state "$s" '{{.HostConfig.ReadonlyRootfs}}')
	if podman exec "$c" sh -c ': >/probe' 2>/dev/null; then writable=yes; else writable=no; fi
	if [ "$uid" = 10001 ] && [ "$ro" = true ] && [ "$writable" = no ]; then
		ok "$s runs as uid 10001 on a read-only root file system"
	else
		fail "$s: uid $uid, ReadonlyRootfs $ro, / writable: $writable"
	fi
	# the probe can fail: a path the service answers with 404
	if podman exec "$c" /usr/local/bin/mlpipe-healthcheck /nonexistent-path >/dev/null 2>&1; then
		fail "$s: its health check passes for a path that answers 404"
	else
		ok "$s: its health check fails for a path that answers 404"
	fi
done
pg_uid=$(podman exec "$(cid postgres)" sh -c 'stat -c %u /proc/1' 2>&1)
[ "$pg_uid" = 999 ] && ok "postgres runs as postgres (uid 999), not root" || fail "postgres runs as uid $pg_uid"

# ---- 6. the old pipeline's client calls -------------------------------------------
work=$(mktemp -d)
if REGISTRY=http://127.0.0.1:$reg_port PREPROCESSING=http://127.0.0.1:$pre_port \
	INFERENCE=http://127.0.0.1:$inf_port MODELS=$models WORKDIR=$work \
	/usr/bin/python3 "$here/client.py" >"$work/client.out" 2>&1; then
	ok "old client calls: $(tail -1 "$work/client.out")"
else
	sed 's/^/#   /' "$work/client.out"
	fail "old client calls against the stack"
fi
rm -rf "$work"

if [ "${MLPIPE_IMAGES_KEEP:-0}" = 1 ]; then
	echo "# registry http://127.0.0.1:$reg_port preprocessing http://127.0.0.1:$pre_port" \
		"inference http://127.0.0.1:$inf_port postgres 127.0.0.1:$MLPIPE_PG_PORT"
	finish
fi

# ---- 7. stop: SIGTERM, clean exits -------------------------------------------
t=$SECONDS
"${compose[@]}" stop >"$var/logs/stop.log" 2>&1
took=$((SECONDS - t))
for s in postgres $services; do
	code=$(state "$s" '{{.State.ExitCode}}')
	st=$(state "$s" '{{.State.Status}}')
	if [ "$st" = exited ] && [ "$code" = 0 ]; then
		ok "$s stopped cleanly (exit 0)"
	else
		"${compose[@]}" logs --no-color --tail 10 "$s" 2>&1 | sed 's/^/#   /'
		fail "$s after stop: $st, exit status $code (137: killed after the grace period)"
	fi
done
[ "$took" -lt 30 ] && ok "the stack stopped in ${took}s" || fail "the stack took ${took}s to stop"
for s in $services; do
	podman logs "$(cid "$s")" >"$var/logs/$s.log" 2>&1
done

# ---- 8. nothing left ---------------------------------------------------------
t=$SECONDS
remove_stack
removed=1
echo "# removed in $(elapsed $t)"
left=$(podman ps -aq --filter "label=com.docker.compose.project=$project")
vols=$(podman volume ls -q | grep -x 'mlpipe-pgdata' || true)
imgs=$(for i in $stack_images; do podman image exists "$i" && echo "$i"; done)
nets=$(podman network ls -q | grep -x "${project}_default" || true)
if [ -z "$left$vols$imgs$nets" ]; then
	ok "down -v and rmi left no container, volume, network or stack image"
else
	fail "left after down: containers $left volumes $vols images $imgs networks $nets"
fi
for i in $stack_images; do
	echo "# size $i $((${size[$i]:-0} / 1000000)) MB"
done
finish
