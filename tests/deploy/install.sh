#!/usr/bin/env bash
# One-time install of the deployment validators; does nothing when they are
# already there.  After it, tests/deploy/run.sh works offline.
#
#   npm modules  pinned in tests/deploy/package-lock.json, installed with
#                `npm ci` into var/deploy-tools/ (git-ignored)
#   Debian       docker-compose (1.29, the compose file's second checker)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
dest=${MLPIPE_DEPLOY_TOOLS:-$top/var/deploy-tools}

lock_sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ -d "$dest/node_modules" ] && [ "$(cat "$dest/.lock-sha256" 2>/dev/null)" = "$lock_sum" ]; then
	echo "deploy-tools: npm modules present in $dest"
else
	command -v npm >/dev/null || { echo "deploy-tools: npm is missing (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	mkdir -p "$dest"
	cp "$here/package.json" "$here/package-lock.json" "$dest/"
	rm -f "$dest/.lock-sha256"
	# --ignore-scripts: none of these modules needs an install script
	(cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
	echo "$lock_sum" >"$dest/.lock-sha256"
	echo "deploy-tools: npm modules installed in $dest"
fi

if command -v docker-compose >/dev/null; then
	echo "deploy-tools: $(docker-compose version --short 2>/dev/null || echo docker-compose) present"
else
	if [ "$(id -u)" -ne 0 ]; then
		echo "deploy-tools: docker-compose missing; as root: apt-get install --no-install-recommends docker-compose" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose; }
	echo "deploy-tools: docker-compose installed"
fi
