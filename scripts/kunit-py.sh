#!/bin/bash
# Run our KUnit suites the way a kernel developer would, with the kernel's
# own tool on the in-tree copy:
#   tools/testing/kunit/kunit.py run --arch=x86_64 --kunitconfig=drivers/md/bcache
# The tool builds its own small kernel (cached in the cache folder) and boots
# it under QEMU. Prints kunit.py's output; exits with its status.
. "$(dirname "$0")/lib.sh"

"$REPO/scripts/kernel.sh" debug >/dev/null	# makes sure the source exists
src=$(kernel_src)
tree=$BCACHE_CACHE/intree-src-$(kernel_version)
if [ ! -f "$tree/.linked" ]; then
	rm -rf "$tree"
	cp -al "$src" "$tree"
	touch "$tree/.linked"
fi
copy_ours_into_tree "$tree"

cd "$tree"
python3 tools/testing/kunit/kunit.py run --arch=x86_64 \
	--kunitconfig=drivers/md/bcache \
	--build_dir="$BCACHE_CACHE/kunit-x86_64-$(kernel_version)" \
	--jobs="$JOBS" --timeout=900 "$@"
