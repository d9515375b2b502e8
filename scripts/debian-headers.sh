#!/bin/bash
# Builds the driver the way DKMS does (dkms.conf's MAKE line) against the
# headers of every Debian 6.12 point release the archive has for amd64,
# in each flavour (amd64, cloud-amd64, rt-amd64), and checks that every
# build is clean: no warning, no error. The headers are Debian's
# linux-headers-6.12.*+deb12-* packages, installed on this machine as an
# admin would (they only add /usr/src and /lib/modules/*/build). Not part
# of scripts/test.sh: the Debian scenario builds against the newest
# release already. Documentation/testing.rst keeps the last result.
#
# usage: scripts/debian-headers.sh [FLAVOUR...]
#        (default: amd64 cloud-amd64 rt-amd64)
. "$(dirname "$0")/lib.sh"
set +e

flavours=("$@")
[ ${#flavours[@]} -gt 0 ] || flavours=(amd64 cloud-amd64 rt-amd64)

bash "$REPO/scripts/deps.sh" || die "could not install dependencies"
apt-get update -q > /dev/null

# Every linux-headers-6.12.N+deb12-FLAVOUR the archive lists, oldest first.
releases=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' |
	sed -n 's/^linux-headers-\(6\.12\.[0-9]*+deb12\)-amd64 .*/\1/p' | sort -V)
[ -n "$releases" ] || die "the archive lists no linux-headers-6.12.*+deb12-amd64"

pkgs=()
for rel in $releases; do
	for fl in "${flavours[@]}"; do
		pkgs+=("linux-headers-$rel-$fl")
	done
done
log "the header packages: ${#pkgs[@]} (each pulls in its linux-image)"
apt_install_missing "${pkgs[@]}" || die "could not install the header packages"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$("$REPO/scripts/dkms-source.sh" "$work/src") || die "no DKMS source"
# The MAKE line of dkms.conf, with DKMS's variables filled in.
make_line=$(sed -n 's/^MAKE\[0\]="\(.*\)"$/\1/p' "$REPO/dkms.conf")
[ -n "$make_line" ] || die "dkms.conf has no MAKE[0]"

passed=0 failed=0
for rel in $releases; do
	for fl in "${flavours[@]}"; do
		kdir=/usr/src/linux-headers-$rel-$fl
		build=$work/build-$rel-$fl
		rsync -a "$src/" "$build/"
		cmd=${make_line//\$\{kernel_source_dir\}/$kdir}
		cmd=${cmd//\$\{dkms_tree\}\/\$\{PACKAGE_NAME\}\/\$\{PACKAGE_VERSION\}\/build/$build}
		t0=$(date +%s)
		# shellcheck disable=SC2086	# the MAKE line is words
		$cmd -j"$(nproc)" > "$build.log" 2>&1
		rc=$?
		t=$(($(date +%s) - t0))
		what="headers: $rel-$fl builds clean (${t}s)"
		if [ $rc = 0 ] && [ -f "$build/bcache.ko" ] &&
				! grep -qE 'warning:|error:' "$build.log"; then
			check_ok "$what"
			passed=$((passed + 1))
		else
			check_fail "$what"
			grep -E 'warning:|error:' "$build.log" | head -n 20 | sed 's/^/    | /'
			[ $rc = 0 ] || tail -n 10 "$build.log" | sed 's/^/    | /'
			failed=$((failed + 1))
		fi
		rm -rf "$build"
	done
done
echo "$passed passed, $failed failed"
[ $failed = 0 ] && [ $passed -gt 0 ]
