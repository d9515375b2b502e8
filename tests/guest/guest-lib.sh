# Guest-side helpers for the scenario scripts (busybox sh). Sourced.
# Every check prints exactly one line:  CHECK ok|fail <scenario>: <what>
# The host counts those lines; nothing else counts.

SCENARIO=${SCENARIO:-unknown}
OURS=/lib/modules/ours/bcache.ko
REF=/lib/modules/ref/bcache.ko

# Each check line is preceded by the guest's uptime on the console, so
# that the log shows which step of a scenario took the time.
check_ok() { check_stamp; echo "CHECK ok $SCENARIO: $*"; }
check_fail() { check_stamp; echo "CHECK fail $SCENARIO: $*"; }
check_stamp() {
	local up
	read -r up _ < /proc/uptime
	echo "## uptime $up"
}

# check "what" command...: one check line from a command's exit status.
check() {
	what=$1
	shift
	if "$@" > /tmp/check.out 2>&1; then
		check_ok "$what"
	else
		check_fail "$what"
		sed 's/^/    | /' /tmp/check.out | tail -n 20
	fi
}

# check_not "what" command...: passes when the command fails.
check_not() {
	what=$1
	shift
	if "$@" > /tmp/check.out 2>&1; then
		check_fail "$what"
		sed 's/^/    | /' /tmp/check.out | tail -n 20
	else
		check_ok "$what"
	fi
}

# check_eq "what" expected actual
check_eq() {
	if [ "$2" = "$3" ]; then
		check_ok "$1"
	else
		check_fail "$1 (expected '$2', got '$3')"
	fi
}

load_ours() { insmod "$OURS" "$@"; }
load_ref() { insmod "$REF" "$@"; }

# Stop every bcache device and unload the module, whichever is loaded.
unload_bcache() {
	local f i=0

	grep -q '^bcache ' /proc/modules || return 0
	for f in /sys/block/bcache*/bcache/stop; do
		[ -e "$f" ] && echo 1 > "$f" 2>/dev/null
	done
	for f in /sys/fs/bcache/*/stop; do
		[ -e "$f" ] && echo 1 > "$f" 2>/dev/null
	done
	while [ $i -lt 50 ] && ls /sys/block | grep -q '^bcache'; do
		sleep 0.2
		i=$((i + 1))
	done
	rmmod bcache 2>/dev/null || { sleep 1; rmmod bcache; }
}

# Wait up to $2 seconds (default 10) for path $1 to appear.
wait_for() {
	local i=0 n=$(( ${2:-10} * 5 ))
	while [ ! -e "$1" ] && [ $i -lt $n ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -e "$1" ]
}

# Wipe the first MiB of a disk (all bcache superblocks live there).
wipe() { dd if=/dev/zero of="$1" bs=1M count=1 conv=fsync 2>/dev/null; }

SPLAT='BUG:|WARNING:|Oops|KASAN|possible circular locking|possible recursive locking|inconsistent lock state|lock held when returning|suspicious RCU|INFO: task .* blocked|soft lockup|hard LOCKUP|general protection|Kernel panic|unreferenced object|UBSAN|list_add corruption|list_del corruption|refcount_t:|sleeping function called from invalid context|scheduling while atomic|stack-protector|double fault'

# The kernel log since the scenario began, on the console for the host,
# and one check that it holds no splat; check_no_splat scan adds what a
# kmemleak scan finds to it.
check_no_splat() {
	: > /tmp/leaks
	[ "$1" = scan ] && kmemleak_scan
	dmesg -c > /tmp/dmesg
	cat /tmp/leaks >> /tmp/dmesg
	sed 's/^/K: /' /tmp/dmesg
	if grep -Eq "$SPLAT" /tmp/dmesg; then
		check_fail "no kernel splat"
		grep -E "$SPLAT" /tmp/dmesg | head -n 5 | sed 's/^/    | /'
	else
		check_ok "no kernel splat"
	fi
	rm -f /tmp/leaks
}

# kmemleak_scan: what kmemleak finds now, into /tmp/leaks (and forgotten
# by kmemleak). A scan takes seconds under KASAN, so it runs only before a
# boot ends: in the last scenario of a boot ("# vm: last", leakcheck) and
# before a power cut or a reboot. A leak names its allocation's stack,
# which says whose it is.
kmemleak_scan() {
	: > /tmp/leaks
	[ -e /sys/kernel/debug/kmemleak ] || return 0
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > /tmp/leaks
	echo clear > /sys/kernel/debug/kmemleak
}

# check_no_leak WHEN: a kmemleak scan finds nothing.
check_no_leak() {
	kmemleak_scan
	if [ -s /tmp/leaks ]; then
		check_fail "no memory leak $1"
		head -n 20 /tmp/leaks | sed 's/^/    | /'
	else
		check_ok "no memory leak $1"
	fi
	rm -f /tmp/leaks
}

# --- Helpers for the backing-device scenarios (tests/bdev_*.sh) ---

# The module under test: ours unless the host booted us with -m ref.
load_bcache() {
	if [ "${BCMOD:-ours}" = ref ]; then load_ref "$@"; else load_ours "$@"; fi
}

# Register a device: the shell's status is the write's (non-zero on error).
bc_register() { echo "$1" > /sys/fs/bcache/register; }
bc_register_quiet() { echo "$1" > /sys/fs/bcache/register_quiet; }

# The bcacheN name the kernel gave backing device $1 (e.g. vda), or nothing.
bc_name_of() {
	local b
	b=$(readlink -f "/sys/block/$1/bcache/dev" 2>/dev/null) || return 1
	[ -n "$b" ] && basename "$b"
}

# How many bcacheN block devices exist.
bc_count() { ls /sys/block | grep -c '^bcache'; }

# Wait up to $2 seconds (default 10) for path $1 to disappear.
wait_gone() {
	local t=0 limit=$(( ${2:-10} * 5 ))
	while [ -e "$1" ] && [ $t -lt $limit ]; do
		sleep 0.2
		t=$((t + 1))
	done
	[ ! -e "$1" ]
}

# retry SECS command...: run the command until it succeeds, for up to SECS.
retry() {
	local t=0 limit=$(( $1 * 5 ))
	shift
	until "$@"; do
		t=$((t + 1))
		[ $t -ge $limit ] && return 1
		sleep 0.2
	done
}

# A stopped device lets go of its disk a moment after its sysfs directory
# and its bcacheN are gone (upstream's final fput is deferred), so a
# register right after a stop may find the disk busy. These wait it out.
bc_register_retry() { retry "${2:-10}" bc_register "$1" 2>/dev/null; }

# Whether disk $1 can be claimed exclusively (dm-linear claims it).
excl_open() {
	dmsetup create bc_excl_probe --table "0 8 linear $1 0" 2>/dev/null &&
		dmsetup remove bc_excl_probe
}
wait_released() { retry "${2:-10}" excl_open "$1"; }

# Stop bcache device $1 (e.g. bcache0) and wait for it to go away.
bc_stop() {
	[ -e "/sys/block/$1/bcache/stop" ] || return 1
	echo 1 > "/sys/block/$1/bcache/stop" || return 1
	wait_gone "/sys/block/$1"
}

# Checksum of $3 512-byte sectors of $1 starting at sector $2, as on disk.
# busybox dd quietly drops O_DIRECT (its buffers are not aligned), so the
# device's page cache is dropped first: it may hold what was there before a
# write that reached the disk through another device (bcacheN <-> vdX).
sect_sum() {
	blockdev --flushbufs "$1"
	dd if="$1" bs=512 skip="$2" count="$3" 2>/dev/null | md5sum | cut -d' ' -f1
}

# Write file $1 to device $2 at sector $3, through to the disk.
put_at() {
	dd if="$1" of="$2" bs=512 seek="$3" conv=notrunc,fsync 2>/dev/null
}

# A reproducible 64 KiB pattern named by $1 (any word), on stdout.
pattern() {
	local k=0
	while [ $k -lt 64 ]; do
		printf '%-1023s\n' "$1 block $k"
		k=$((k + 1))
	done
}

# Put a marker line in the kernel log; dmesg_after prints (raw, with the
# <level> prefix) what the kernel logged after the last such marker.
kmsg_mark() { echo "bcache-test: mark $1" > /dev/kmsg; }
dmesg_after() { dmesg -r | sed -n "/bcache-test: mark $1\$/,\$p" | sed 1d; }

# dmesg_complaints MARK: the lines logged after MARK that speak of damage
# or failure. Set UUIDs are blanked first: a random one may well spell
# "bad" in hex.
dmesg_complaints() {
	dmesg_after "$1" |
		sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g' |
		grep -Ei 'missing|bad|corrupt|error|fail|checksum'
}

# Whether the kernel's own bcache.ko is the one under test.
testing_ref() { [ "${BCMOD:-ours}" = ref ]; }

# --- Helpers for the cache-set scenarios (tests/cache_*.sh) ---

# The sysfs directory of the (one) registered cache set, or nothing.
cs_dir() { ls -d /sys/fs/bcache/*-*-*-*-* 2>/dev/null | head -n 1; }

# The cache set uuid in the superblock of cache device $1.
cs_uuid_of() { bcache-super-show "$1" | sed -n 's/^cset\.uuid[[:space:]]*//p'; }

# dm_create NAME TABLE: a device-mapper device; the guest has no udev,
# so its /dev/mapper/NAME node is made here.
dm_create() { dmsetup create "$1" --table "$2" && dmsetup mknodes "$1"; }
# The kernel's name (dm-N) of device-mapper device $1.
dm_kname() { echo "dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')"; }

# A dm-linear device /dev/mapper/$1 over the first $3 MiB of disk $2:
# cache sets much smaller than a scratch disk fill up in seconds.
dm_small() { dm_create "$1" "0 $(( $3 * 2048 )) linear $2 0"; }

# A small cache's whole image, kept on the spare disk vdc between the
# cases of a scenario: image_save DEV MIB, image_put_back DEV MIB. Direct
# I/O: through the guest's page cache (KASAN, kmemleak) 64 MiB take half
# a minute, direct about a second.
image_save() {
	blockdev --flushbufs "$1"
	dd if="$1" of=/dev/vdc bs=1M count="$2" iflag=direct oflag=direct \
		2>/dev/null
}
image_put_back() {
	blockdev --flushbufs "$1"
	dd if=/dev/vdc of="$1" bs=1M count="$2" iflag=direct oflag=direct \
		2>/dev/null
	blockdev --flushbufs "$1"
}

# Flush and forget the page cache, so that reads go to the block device.
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# The dirty sectors of bcache0 (inode 0) in the btree, from the set's
# debugfs dump, in sysfs's human format: what its dirty_data must read.
bc_dump_dirty() {
	awk '/ dirty/ && $1 ~ /^0:/ { s += $3 }
	END {
		v = s * 512; u = 0
		do { r = v % 1024; v = int(v / 1024); u++ } while (v >= 1000)
		printf "%d.%d%s\n", v, int(r * 10 / 1024), substr("?kMGTPEZY", u + 1, 1)
	}' "/sys/kernel/debug/bcache/bcache-$(basename "$(cs_dir)")"
}

# Backing device $1 (bcacheN) is attached to a cache set: clean or dirty.
bc_attached() { grep -Eq 'clean|dirty' "/sys/block/$1/bcache/state"; }

# A counter of bcacheN $1's stats_total ($2: cache_hits, cache_misses ...).
bc_stat() { cat "/sys/block/$1/bcache/stats_total/$2"; }

# The stats_total counters are folded in by a timer (every ~14 s);
# wait_stat_above BC NAME N [SECS]: wait for counter NAME to exceed N.
stat_above() { [ "$(bc_stat "$1" "$2")" -gt "$3" ]; }
wait_stat_above() { retry "${4:-40}" stat_above "$1" "$2" "$3"; }

# cs_make CACHE BACKING [make-bcache options]: format a cache device and a
# backing device attached to it (one make-bcache call, like an admin).
cs_make() {
	local c=$1 b=$2
	shift 2
	wipe "$c"
	wipe "$b"
	make-bcache "$@" -C "$c" -B "$b" > /dev/null
}

# cs_up CACHE BACKING: register both; wait for bcache0, attached to the set.
# Cached reads and writes are made deterministic: no sequential cutoff and
# no congestion bypass (TCG latencies would look like congestion).
cs_up() {
	bc_register "$1" && bc_register "$2" &&
	wait_for /sys/block/bcache0/bcache 20 && retry 20 bc_attached bcache0 &&
	cs_tune bcache0
}
cs_tune() {
	local set
	set=$(cs_dir)
	echo 0 > "/sys/block/$1/bcache/sequential_cutoff" &&
	echo 0 > "$set/congested_read_threshold_us" &&
	echo 0 > "$set/congested_write_threshold_us"
}

# The backing device of the benchmark jobs: vda, or with bench_null=1 on
# the kernel command line (bench.sh -i, insn-profile.sh) vda's first MiB,
# where the superblock lives, then null_blk (perf kernel) for the rest.
# Under -icount the guest clock jumps to the next timer tick whenever it
# waits for the host's disks, so a wait of a few microseconds on the host
# becomes milliseconds of guest time: with a backing device that completes
# at once, a request that goes to it costs guest instructions only. It is
# 200 GiB, so that the sequential test never wraps (bench_seq_size()).
bench_backing() {
	if ! grep -qw bench_null=1 /proc/cmdline || [ ! -b /dev/nullb0 ]; then
		echo /dev/vda
		return
	fi
	if [ ! -b /dev/mapper/nullback ]; then
		printf '0 2048 linear %s\n2048 %d linear /dev/nullb0 2048\n' \
			"$(bench_sb_place)" $((200 * 1024 * 2048 - 2048)) |
			dmsetup create nullback
		dmsetup mknodes
	fi
	echo /dev/mapper/nullback
}

# Where the backing device's first MiB (its superblock) lives: vda, or
# with bench_sb_ram=1 the RAM disk's last MiB (the cache then has 511).
# A flush of the backing device reaches every disk of its table, and
# under -icount a flush of vda waits for the host: up to a timer tick of
# guest time, which a driver that flushes the backing device pays and
# one that does not never sees.
bench_sb_ram() { grep -qw bench_sb_ram=1 /proc/cmdline && [ -b /dev/ram0 ]; }
bench_sb_place() {
	if bench_sb_ram; then echo "/dev/ram0 $((511 * 2048))"; else echo "/dev/vda 0"; fi
}

# The region the sequential test reads, from 256 MiB on: 1 GiB of vda, or
# 190 GiB of null_blk. fio reads a region over and over, and each pass is
# a new stream to bcache, whose first few MiB it caches (they are under
# the cutoff) and then serves from the cache device at every later pass.
# Copied from a RAM disk, those hits cost more than a whole bypassed read
# from null_blk, and how many of them each driver had (ours cached the
# start, the kernel's never inserted it) decided the result by 1%. In one
# pass of 190 GiB there is one stream start, whichever driver runs.
bench_seq_size() {
	if [ "$(bench_backing)" = /dev/vda ]; then echo 1G; else echo 190G; fi
}

# The disk under the benchmark set's cache: vdb, or with bench_null=1 the
# perf kernel's RAM disk, for the same reason as bench_backing(): a hit
# that waits for the host's vdb costs up to a timer tick of guest time
# under -icount, which made the hit and write results of two runs differ
# by a factor of six.
bench_cache_disk() {
	if grep -qw bench_null=1 /proc/cmdline && [ -b /dev/ram0 ]; then
		echo ram0
	else
		echo vdb
	fi
}

# The disk under the backing device, for its request counts.
bench_backing_disk() {
	if [ "$(bench_backing)" = /dev/vda ]; then echo vda; else echo nullb0; fi
}

# The set of the benchmark jobs (tools/jobs/): a 512 MiB cache (dm-linear
# "cache512" on bench_cache_disk()) with 512 KiB buckets in front of
# bench_backing(), made afresh.
bench_set_make() {
	local mib=512
	bench_sb_ram && mib=511
	dmsetup remove cache512 2>/dev/null
	echo "0 $((mib * 2048)) linear /dev/$(bench_cache_disk) 0" |
		dmsetup create cache512
	dmsetup mknodes
	wipe /dev/mapper/cache512
	wipe "$(bench_backing)"
	make-bcache --bucket 512k -C /dev/mapper/cache512 -B "$(bench_backing)" \
		> /dev/null
}

# The disks are sparse files: the first write to a region costs the host
# an allocation. Benchmarks touch what they use once, so that whoever
# goes first does not pay for it; the first big read of a boot is slow
# too (a third slower, whichever driver runs it), so each disk is also
# read back once. A RAM disk (brd) allocates and zeroes a page at the
# first write to it: the one under the cache is written all over too.
bench_disks_touch() {
	local d rw
	if [ "$(bench_cache_disk)" = ram0 ]; then
		fio --name=touch --filename=/dev/ram0 --rw=write --bs=1M \
			--size=512M --direct=1 --ioengine=libaio --iodepth=16 \
			> /dev/null 2>&1
	fi
	for d in vdb:512 vda:1280; do
		for rw in write read; do
			fio --name=touch --filename=/dev/${d%:*} --rw=$rw \
				--bs=1M --size=${d#*:}M --direct=1 \
				--ioengine=libaio --iodepth=16 > /dev/null 2>&1
		done
	done
}

# The dm device of the benchmark set's cache ("dm-N"), whose request
# counts stand for the disk's: brd keeps none.
cache512_disk() {
	echo "dm-$(dmsetup info -c --noheadings -o minor cache512 | tr -d ' ')"
}

# Requests the disks completed (reads writes, of the cache then the
# backing disk): how many device I/Os each bcache request cost is most of
# what TCG measures. The cache's are counted at its dm device.
disk_ios() {
	local d
	for d in "$(cache512_disk)" "$(bench_backing_disk)"; do
		awk '{ printf "%d %d ", $1, $5 }' /sys/block/$d/stat
	done
}

# bench_warm WHO MB PASSES FEW: read the first MB MiB of bcache0 until a pass
# misses (reads the backing disk) fewer than FEW times, at most PASSES passes. A miss
# is cached only if a free bucket is at hand (neither driver waits for
# one), so one read at a time gives the allocator time to keep up.
bench_warm() {
	local who=$1 pass before missed
	shift
	for pass in $(seq "$2"); do
		before=$(disk_ios)
		fio --name=warm --filename=/dev/bcache0 --rw=read --bs=1M \
			--size="$1"M --direct=1 --ioengine=libaio --iodepth=1 \
			> /dev/null 2>&1
		missed=$(echo "$before $(disk_ios)" | awk '{ print $7 - $3 }')
		echo "INFO $who warm pass $pass: $missed backing reads"
		[ "$missed" -lt "$3" ] && break
	done
}

# fio options that put its buffer in huge pages, or nothing without
# hugetlbfs (only the perf kernel has it). A 1 MiB request then maps a
# piece or two of contiguous memory rather than 256 pages, of which how
# many happen to be adjacent depends on what ran before in the boot: with
# those, the driver that ran first measured up to a fifth cheaper.
fio_hugebuf() {
	local pages=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages

	grep -qw hugetlbfs /proc/filesystems || return 0
	if ! grep -q " /mnt/huge hugetlbfs " /proc/mounts; then
		mkdir -p /mnt/huge && mount -t hugetlbfs none /mnt/huge ||
			return 0
	fi
	# 16 MiB of buffers (1 MiB x QD 16) and room to spare.
	[ "$(cat $pages)" -ge 16 ] || echo 16 > $pages
	echo "--iomem=mmaphuge:/mnt/huge/fio --hugepage-size=2m"
}

# Run gc now and give it time to finish, so that a phase after it starts
# from a compacted tree (and no gc falls inside it) under either driver.
bench_gc() {
	echo 1 > "$(cs_dir)/internal/trigger_gc"
	sleep 2
}

# Register both devices of bench_set_make()'s set; wait for bcache0.
bench_set_up() {
	echo /dev/mapper/cache512 > /sys/fs/bcache/register
	bench_backing > /sys/fs/bcache/register
	wait_for /dev/bcache0
}

# Stop the cache set (and with it every device attached to it) and wait
# until its sysfs directory is gone and its cache device is let go: the
# directory goes first (in both drivers), and registering the cache again
# in between fails with "device busy".
cs_stop() {
	local set ca
	set=$(cs_dir)
	[ -n "$set" ] || return 1
	ca=$(readlink -f "$set/cache0")	# /sys/.../block/<dev>/bcache
	echo 1 > "$set/stop" && wait_gone "$set" 60 || return 1
	[ -n "$ca" ] || return 0
	wait_released "/dev/$(basename "$(dirname "$ca")")" 60
}

# No cache set registered.
no_set() { [ -z "$(cs_dir)" ]; }

# Stop whatever a case left running, every set and every bcacheN; true
# once none is left (a fuzzed superblock may make a backing device of a
# cache device, so there may be bcacheN without a set).
stop_everything() {
	[ -n "$(cs_dir)" ] && cs_stop
	for d in $(ls /sys/block | grep '^bcache'); do
		bc_stop "$d"
	done
	[ "$(bc_count)" = 0 ] && no_set
}

# The kernel's monotonic clock now, in nanoseconds: the "now at" line at
# the top of /proc/timer_list (ktime_get(), from the clocksource).
# /proc/uptime only counts in 10 ms steps, about what a whole registration
# takes, and printk's stamps come from sched_clock, which under TCG
# sometimes falls back to jiffies (4 ms steps at HZ=250).
clock_ns() {
	local line
	while read -r line; do
		case $line in
		"now at "*)
			line=${line#now at }
			echo "${line%% *}"
			return
			;;
		esac
	done < /proc/timer_list
}

# Direct-I/O checksum of $3 MiB of block device $1 from MiB $2 (fio-free:
# the page cache is dropped so that the reads really reach the device).
mib_sum() {
	blockdev --flushbufs "$1"
	dd if="$1" bs=1M skip="$2" count="$3" 2>/dev/null | md5sum | cut -d' ' -f1
}

# A reproducible stream of $2 MiB named by word $1, on stdout; every
# 64 KiB of it differs, so that misplaced data does not checksum right.
pattern_mib() {
	local n=0
	while [ $n -lt $(( $2 * 16 )) ]; do
		pattern "$1.$n"
		n=$((n + 1))
	done
}

# Cut the power: the host counts the scenario as done on the marker, and
# boots again for the scenarios after it. Nothing is synced or unmounted.
# power_cut [scanned]: "scanned" when the scenario ran its kmemleak scan
# itself, before starting the I/O the cut is to interrupt: a scan beside
# that I/O takes a minute under KASAN, on its own seconds.
power_cut() {
	check "no kernel splat before the cut" dmesg_splat_free
	[ "${1:-}" = scanned ] || check_no_leak "before the cut"
	echo "@@POWERCUT $SCENARIO"
	sleep 1
	echo b > /proc/sysrq-trigger
	sleep 10
}

# A clean reboot with whatever is registered left running, so that the
# reboot notifier has to stop it. The host (scripts/vm.sh) checks the
# console after "@@REBOOT name": the notifier's "All devices stopped", no
# splat, and a guest that went down by itself. Info messages are let
# through to the console for that.
clean_reboot() {
	check_no_leak "before the reboot"
	echo "@@REBOOT $SCENARIO"
	echo 8 > /proc/sys/kernel/printk
	reboot -f
	sleep 30
}

# A note that outlives a boot: one sector of the spare disk $NOTE, for a
# scenario spanning boots to tell where it is.
note_read() { dd if="$NOTE" bs=512 count=1 2>/dev/null | tr -d '\0'; }
note_write() {
	printf '%s' "$1" | dd of="$NOTE" bs=512 count=1 conv=sync,fsync 2>/dev/null
}

# cs_up_after_cut CACHE BACKING: load the module and register both disks
# after a power cut, up to an attached bcache0 whose set replayed its
# journal.
cs_up_after_cut() {
	check "module loads" load_bcache
	check "the cache registers after the cut" bc_register "$1"
	check "the backing device registers" bc_register "$2"
	check "bcache0 appears" wait_for /sys/block/bcache0/bcache 20
	check "bcache0 is attached" retry 20 bc_attached bcache0
	check "the journal was replayed" dmesg_has 'journal replay'
}

bc0_state_is() { [ "$(cat /sys/block/bcache0/bcache/state)" = "$1" ]; }

# wb_drain_detach: bcache0 written back at full speed until clean, then
# detached; the set and bcache0 stopped and the module unloaded, so that
# the backing disk alone holds the data.
wb_drain_detach() {
	local sys=/sys/block/bcache0/bcache
	echo 0 > $sys/writeback_percent
	# No pause of writeback_delay (30 s) after each full pass.
	echo 1 > $sys/writeback_delay
	echo 1 > $sys/writeback_running
	check "writeback cleans the device" retry 120 bc0_state_is clean
	check "detach" sh -c "echo 1 > $sys/detach"
	check "the detach completes" retry 60 bc0_state_is "no cache"
	check "stop the set" cs_stop
	check "stop bcache0" bc_stop bcache0
	unload_bcache
}

# Whether the kernel log holds a splat (for a boot that ends in a power
# cut, whose log check_no_splat never sees).
dmesg_splat_free() { ! dmesg | grep -Eq "$SPLAT"; }

# Whether the kernel log since the scenario began matches regex $1.
dmesg_has() { dmesg | grep -Eq "$1"; }
