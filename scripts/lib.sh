# Shared settings for the host scripts; sourced, never run.
# Everything built lives under $BCACHE_CACHE, outside the repo, so a warm
# rerun reuses the kernel, the initramfs pieces and the disk images.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BCACHE_CACHE=${BCACHE_CACHE:-$HOME/.cache/bcache-dev}
KTARBALL=/usr/src/linux-source-6.12.tar.xz
JOBS=$(nproc)

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian version of the kernel source package: part of every cache key.
kernel_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown
}

kernel_src() { echo "$BCACHE_CACHE/linux-$(kernel_version)"; }

# Build folder of one kernel flavour (debug or perf), keyed by the source
# version and the options of the config fragments that make it.
kernel_build_dir() {
	local flavor=$1 key
	# Keyed by the options alone: a comment in a fragment rebuilds nothing.
	key=$(cat "$REPO/scripts/kconfig/common.config" \
		"$REPO/scripts/kconfig/$flavor.config" |
		grep -v '^[[:space:]]*\(#\|$\)' | sha256sum | cut -c1-12)
	echo "$BCACHE_CACHE/build-$flavor-$(kernel_version)-$key"
}

# The files of the driver, relative to the repository (tracked and new,
# unignored): its sources, kbuild files and KUnit suites at the top and
# in tests/kunit/; never tools/ or the guest's user-space helpers.
driver_files() {
	(cd "$REPO" && git ls-files -co --exclude-standard -- \
		':(top,glob)*.[ch]' ':(top,glob)tests/kunit/*.[ch]' \
		Makefile Kconfig .kunitconfig)
}

# Put our driver files in place of drivers/md/bcache/ in a kernel tree.
copy_ours_into_tree() {
	local tree=$1 dst
	dst=$tree/drivers/md/bcache
	rm -rf "$dst"
	mkdir -p "$dst"
	driver_files | rsync -a --files-from=- "$REPO/" "$dst/"
}

# apt_install_missing PKG...: install those of the Debian packages that
# are not installed yet (apt is asked only then).
apt_install_missing() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q > /dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null
}

# vm_module_args ours|ref NAME: vm.sh's options for that driver; ours is
# built for the debug kernel into $BCACHE_CACHE/module-NAME-<checkout>.
vm_module_args() {
	local mod
	if [ "$1" = ref ]; then
		echo "-m ref"
		return
	fi
	mod=$BCACHE_CACHE/module-$2-$(basename "$REPO")
	rm -rf "$mod"
	"$REPO/scripts/module.sh" debug "$mod" > /dev/null || return 1
	echo "-k $mod/bcache.ko"
}

# Host-side check lines, in the guest's format.
check_ok() { echo "CHECK ok $*"; }
check_fail() { echo "CHECK fail $*"; }
