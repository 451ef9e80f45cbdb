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

"$top/scripts/npm-ci.sh" "$here" "$dest" || exit 1
echo "deploy-tools: npm modules present in $dest"

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
