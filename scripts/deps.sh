#!/usr/bin/env bash
# Installs, with apt-get, what building, running and testing mlpipe need on
# Debian 12.  Does nothing (and says so) when everything is already there.
set -euo pipefail

packages=(
	# build
	build-essential pkg-config clang llvm
	postgresql-15 postgresql-server-dev-15 postgresql-contrib
	postgresql-15-plproxy
	libpq-dev libmicrohttpd-dev libjansson-dev libxgboost-dev
	# test and bench
	python3-xgboost python3-requests python3-psycopg2 curl wrk valgrind
	libclang-rt-14-dev docker-compose
	# the images suite: podman (with runc; CNI networks with DNS) behind
	# docker-compose, debootstrap for the base image no registry offers here
	podman runc debootstrap golang-github-containernetworking-plugin-dnsname
	# the api suite's browser test (driven by playwright-core from npm)
	chromium
)
# nodejs ships npm on machines with NodeSource's package; Debian's npm conflicts with it
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
	# dpkg-query prints "install ok installed" only for fully installed packages
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2; exit 1; }
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
