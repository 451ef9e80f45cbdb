#!/usr/bin/env bash
# Installs the npm modules pinned by DIR/package-lock.json into DEST with
# `npm ci` (DEST/node_modules), unless DEST already holds exactly that lock.
# After the first run nothing needs the network.
#
#   scripts/npm-ci.sh services/web build/web       (the services' browser assets)
#   scripts/npm-ci.sh tests/api var/api-tools       (validators, playwright-core)
set -euo pipefail

src=$1 dest=$2
lock_sum=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
if [ -d "$dest/node_modules" ] && [ "$(cat "$dest/.lock-sha256" 2>/dev/null)" = "$lock_sum" ]; then
	exit 0
fi
command -v npm >/dev/null || { echo "npm-ci: npm is missing (Debian: apt-get install nodejs npm, or make deps)" >&2; exit 1; }
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
rm -f "$dest/.lock-sha256"
# --ignore-scripts: none of these modules needs an install script (and
# playwright-core's would not download a browser anyway: we use Debian's)
(cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
echo "$lock_sum" >"$dest/.lock-sha256"
echo "npm-ci: $src's modules installed in $dest"
