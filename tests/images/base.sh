#!/usr/bin/env bash
# tests/images/base.sh: make docker.io/library/debian:bookworm-slim in the
# images suite's podman store, from Debian's mirror, without a registry.
#
# No container registry is reachable from the machines this suite runs on, so
# the base of the service images is made here: debootstrap's minbase variant
# of bookworm, trimmed the way the official slim image is (no manual pages,
# documentation, translations, apt lists or package cache), with bookworm,
# bookworm-updates and bookworm-security as apt sources.  The root file system
# is kept as a tarball in $MLPIPE_IMAGES_VAR (var/images) and imported only
# when the store lacks an image of the same key.
#
# The key is this script's own hash and the Date of the mirror's bookworm
# Release file: a point release, or a change to how the base is made, makes a
# stale tarball and image be made again.  Offline, the newest tarball serves.
#
# Needs: debootstrap, podman (with CONTAINERS_CONF and CONTAINERS_STORAGE_CONF
# naming the suite's configuration), curl.  Prints progress on stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
var=${MLPIPE_IMAGES_VAR:?MLPIPE_IMAGES_VAR must name the suite directory under var/}
mirror=${MLPIPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
image=docker.io/library/debian:bookworm-slim

log() { echo "base: $*" >&2; }

release=$(curl -fsS --max-time 20 "$mirror/dists/bookworm/Release" 2>/dev/null |
	sed -n 's/^Date: //p' | head -1 || true)
if [ -n "$release" ]; then
	key=$( { sha256sum <"$here/base.sh"; echo "$mirror $release"; } | sha256sum | cut -c1-16)
	tarball=$var/debian-bookworm-slim-$key.tar
else
	tarball=$(ls -t "$var"/debian-bookworm-slim-*.tar 2>/dev/null | head -1 || true)
	[ -n "$tarball" ] || { log "the mirror $mirror is unreachable and no base is cached"; exit 1; }
	key=${tarball##*-}
	key=${key%.tar}
	log "the mirror is unreachable: using the cached $tarball"
fi

if [ ! -f "$tarball" ]; then
	log "making $image with debootstrap (bookworm, $release)"
	root=$(mktemp -d "$var/rootfs.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$var/debootstrap.log" 2>&1 || {
		tail -20 "$var/debootstrap.log" >&2
		log "debootstrap failed (log: $var/debootstrap.log)"
		exit 1
	}
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<-EOF
	Types: deb
	URIs: $mirror
	Suites: bookworm bookworm-updates
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

	Types: deb
	URIs: ${mirror%/debian}/debian-security
	Suites: bookworm-security
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	# what later apt-get installs in the images leave out, as in the
	# official slim image: documentation, manual pages, translations
	cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<-'EOF'
	path-exclude /usr/share/doc/*
	path-include /usr/share/doc/*/copyright
	path-exclude /usr/share/man/*
	path-exclude /usr/share/info/*
	path-exclude /usr/share/locale/*
	path-exclude /usr/share/lintian/*
	EOF
	cat >"$root/etc/apt/apt.conf.d/docker-clean" <<-'EOF'
	DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
	APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
	Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
	EOF
	find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
	rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
		"$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/*.log \
		"$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.cache
	tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf "$root"
	trap - EXIT
	# older bases are stale now
	for old in "$var"/debian-bookworm-slim-*.tar; do
		[ "$old" = "$tarball" ] || rm -f "$old"
	done
fi

have=$(podman image inspect --format '{{index .Labels "org.mlpipe.base-key"}}' "$image" 2>/dev/null || true)
if [ "$have" != "$key" ]; then
	log "importing $(basename "$tarball") as $image"
	podman import --change 'CMD ["bash"]' --change "LABEL org.mlpipe.base-key=$key" \
		"$tarball" "$image" >/dev/null
fi
echo "$image"
