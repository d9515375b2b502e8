#!/bin/bash
# Put the driver's source where DKMS looks for it: /usr/src/bcache-VERSION
# (VERSION from dkms.conf), or under DESTDIR when given (the Debian
# scenario fills a throwaway tree). Prints the folder on stdout.
#
# usage: scripts/dkms-source.sh [DESTDIR]
. "$(dirname "$0")/lib.sh"

destdir=${1:-}
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/dkms.conf")
[ -n "$version" ] || die "dkms.conf names no PACKAGE_VERSION"
grep -q "^MODULE_VERSION(\"$version\");" "$REPO/super.c" ||
	die "super.c's MODULE_VERSION is not dkms.conf's $version"
dst=$destdir/usr/src/bcache-$version
rm -rf "$dst"
mkdir -p "$dst"
{ driver_files; echo dkms.conf; } | rsync -a --files-from=- "$REPO/" "$dst/"
echo "$dst"
