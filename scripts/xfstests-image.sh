#!/bin/bash
# Build (or reuse) the Debian image with fstests in it, for
# scripts/xfstests.sh: a copy of scripts/debian-image.sh's image, grown to
# 6 GiB, where the build dependencies fstests' README names for Debian are
# installed from Debian's repository and ../shared/third-party's fstests
# source is built and installed (make, make install: /var/lib/xfstests),
# with the fsgqa users some tests want. All of it in a chroot, at native
# speed. Cached beside the Debian image, keyed by it, this script and the
# source tarball.
#
# usage: scripts/xfstests-image.sh   prints the image folder on stdout
#   (root.img, kver).
. "$(dirname "$0")/lib.sh"
. "$REPO/scripts/debian-lib.sh"

tarball=$(ls "$REPO"/../shared/third-party/xfstests-*.tar.xz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || die "no ../shared/third-party/xfstests-*.tar.xz"
img=$("$REPO/scripts/debian-image.sh") || die "no Debian image"
kver=$(cat "$img/kver")
key=$(cat "$0" "$tarball" | sha256sum | cut -c1-12)
out=$BCACHE_CACHE/xfstests-$(basename "$img")-$key
if [ -f "$out/.built" ]; then
	echo "$out"
	exit 0
fi

t0=$(date +%s)
log "building fstests into a copy of the Debian image ($out)"
work=$(mktemp -d "${TMPDIR:-/tmp}/bcache-xfstests-image.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"
cp --sparse=always "$img/root.img" "$work/root.img"
truncate -s 6G "$work/root.img"
e2fsck -fy "$work/root.img" > /dev/null 2>&1 || true
resize2fs "$work/root.img" > /dev/null 2>&1
cp "$tarball" "$work/xfstests.tar.xz"
in_guest_root '
	cp /etc/resolv.conf "$R/etc/resolv.conf"
	export DEBIAN_FRONTEND=noninteractive
	chroot "$R" apt-get update -q
	chroot "$R" apt-get install -y -q --no-install-recommends \
		acl attr automake bc dbench dump e2fsprogs fio gawk gcc \
		indent libacl1-dev libaio-dev libcap-dev libgdbm-dev libtool \
		libtool-bin liburing-dev libuuid1 make psmisc python3 quota \
		sed uuid-dev uuid-runtime xfsprogs xfslibs-dev sqlite3 \
		libgdbm-compat-dev libattr1-dev pkg-config file
	mkdir -p "$R/opt/xfstests"
	tar -xJf "$work/xfstests.tar.xz" -C "$R/opt/xfstests"
	chroot "$R" make -C /opt/xfstests -j"$(nproc)"
	chroot "$R" make -C /opt/xfstests install
	chroot "$R" sh -c "useradd -m fsgqa; useradd 123456-fsgqa; useradd fsgqa2; groupadd fsgqa" || true
	chroot "$R" apt-get clean' > "$work/build.log" 2>&1 ||
	{ tail -n 30 "$work/build.log" >&2; die "building fstests failed"; }
mv "$work/root.img" "$out/root.img"
echo "$kver" > "$out/kver"
touch "$out/.built"
log "fstests image built in $(( $(date +%s) - t0 )) s"
echo "$out"
