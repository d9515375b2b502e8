#!/bin/bash
# Install what the build and the tests need, from Debian's packages only.
# Safe to rerun: apt is asked only when something is missing.
. "$(dirname "$0")/lib.sh"

PKGS=(linux-source-6.12 qemu-system-x86 busybox-static bcache-tools fio
      e2fsprogs sparse dmsetup util-linux cpio rsync bc bison flex libelf-dev
      libssl-dev dwarves xz-utils make gcc libc6-dev python3 perl kmod
      mmdebstrap)

apt_install_missing "${PKGS[@]}"
