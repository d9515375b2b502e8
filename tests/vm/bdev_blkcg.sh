# Block cgroup references (CONFIG_BLK_CGROUP, on in every distribution's
# kernel and in the test kernel): bio_init() with a device makes the bio
# hold a reference on the issuing task's blkcg group until bio_uninit().
# The driver's embedded superblock and journal bios are set up afresh by
# each I/O; without the uninit each I/O leaks a reference, and the cgroup
# that issued it can never be freed (it stays "dying" for good), nor the
# disk's request queue. Superblock writes (label changes) and journal
# writes (synchronous writes through bcacheN) are issued from a child
# cgroup; once it is removed it must be freed within seconds. Runs
# against $BCMOD.
DISK=/dev/vdd
CACHE=/dev/vdc
CG=/sys/fs/cgroup
wipe $DISK
wipe $CACHE
if [ ! -e $CG/cgroup.procs ]; then
	mkdir -p $CG
	mount -t cgroup2 none $CG
fi
check "the io controller is on for child cgroups" sh -c \
	"echo +io > $CG/cgroup.subtree_control"

dying() { sed -n 's/^nr_dying_descendants //p' $CG/cgroup.stat; }
none_dying() { [ "$(dying)" = 0 ]; }
# in_cgroup NAME COMMAND...: run the command (a shell function too) in a
# subshell that is a member of cgroup NAME; $PPID of a child is its pid.
in_cgroup() {
	local name=$1
	shift
	(sh -c 'echo $PPID' > "$CG/$name/cgroup.procs" && "$@")
}
label_writes() {
	local i
	for i in 1 2 3 4; do
		echo "label$i" > "/sys/block/$BC/bcache/label" || return 1
	done
}
sync_writes() {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		dd if=/dev/urandom of="/dev/$BC" bs=4k count=1 seek=$i \
			oflag=direct conv=fsync 2> /dev/null || return 1
	done
}

make-bcache -B $DISK > /dev/null
make-bcache -C $CACHE > /dev/null
check "module loads" load_bcache
check "backing device registers" bc_register $DISK
BC=$(bc_name_of vdd)
check "no cgroup dying to begin with" retry 10 none_dying

mkdir $CG/bcsb
check "superblock writes from a child cgroup" in_cgroup bcsb label_writes
rmdir $CG/bcsb
check "that cgroup is freed once removed" retry 15 none_dying

check "cache device registers" bc_register $CACHE
check "backing device attaches" sh -c \
	"echo $(cs_uuid_of $CACHE) > /sys/block/$BC/bcache/attach"
check "writethrough mode" sh -c \
	"echo writethrough > /sys/block/$BC/bcache/cache_mode"
echo 0 > "/sys/block/$BC/bcache/sequential_cutoff"
mkdir $CG/bcjournal
check "synchronous writes from a child cgroup" in_cgroup bcjournal sync_writes
check "label writes too (both superblock and uuid table)" \
	in_cgroup bcjournal label_writes
rmdir $CG/bcjournal
check "that cgroup is freed once removed" retry 15 none_dying

check "the set stops" cs_stop
unload_bcache
