# vm: two boots (scripts/test.sh lists this scenario twice)
# ext4 on bcache0 in writeback mode, power cut, over two boots (name the
# scenario twice: vm.sh wb_ext4 wb_ext4). Runs against $BCMOD.
# Boot 1 makes ext4 on bcache0 with writeback_percent 0, so that the
# thread cleans dirty data while the filesystem writes: files created one
# by one, each fsynced with its directory before its number is noted on
# vdd, while a buffered writer keeps the page cache and the journal busy;
# then the power goes (sysrq b). Boot 2 registers the set, mounts (ext4
# replays its journal), finds every noted file intact, unmounts, and
# e2fsck -fn must find nothing to fix; once written back and detached,
# the backing disk alone must hold the same clean filesystem.
C=/dev/vdb
B=/dev/vda
NOTE=/dev/vdd
SYS=/sys/block/bcache0/bcache
MNT=/mnt
FILES=20
# e2fsprogs' own tools: busybox has a smaller mke2fs of the same name.
E2=/usr/sbin

# file_data I: file I's 256 KiB, different for every file.
file_data() {
	pattern "ext4 a$1"
	pattern "ext4 b$1"
	pattern "ext4 c$1"
	pattern "ext4 d$1"
}
# files_bad DIR: files 1..last in DIR that do not read back.
files_bad() {
	local i=1 bad=0
	while [ $i -le "${last:-0}" ]; do
		[ "$(file_data $i | md5sum)" = "$(md5sum < "$1/f$i")" ] ||
			bad=$((bad + 1))
		i=$((i + 1))
	done
	echo $bad
}
keys_done() { cat "$(cs_dir)/internal/writeback_keys_done"; }
wrote_back() { [ "$(keys_done)" -gt 0 ]; }

if ! note_read | grep -q '^ext4 '; then
	# --- boot 1 ---
	note_write none
	check "make-bcache -C vdb -B vda (writeback)" cs_make $C $B --writeback
	check "module loads" load_bcache
	check "register cache and backing device" cs_up $C $B || return
	echo 0 > $SYS/writeback_percent
	# No pause of writeback_delay (30 s) after each full pass.
	echo 1 > $SYS/writeback_delay
	check "mke2fs -t ext4 on bcache0 (512 MiB)" \
		$E2/mke2fs -q -F -t ext4 \
		-E lazy_itable_init=1,lazy_journal_init=1 /dev/bcache0 512M
	check "mount it" mount -t ext4 -o noinit_itable /dev/bcache0 $MNT
	mkdir $MNT/files
	sync $MNT
	note_write "ext4 0"
	check_no_leak "before the I/O the cut interrupts"
	fio --name=noise --directory=$MNT --ioengine=psync --rw=randwrite \
		--bs=16k --size=48M --time_based --runtime=120 \
		> /dev/null 2>&1 &
	i=1
	while [ $i -le $FILES ]; do
		file_data $i > /tmp/f
		dd if=/tmp/f of=$MNT/files/f$i bs=64k conv=fsync 2>/dev/null &&
			sync $MNT/files || break
		note_write "ext4 $i"
		i=$((i + 1))
	done
	check "$FILES files written and fsynced" [ $i -gt $FILES ]
	check "writeback wrote keys back before the cut" retry 30 wrote_back
	echo "### before the cut: state $(cat $SYS/state)," \
		"dirty_data $(cat $SYS/dirty_data), keys written back $(keys_done)"
	power_cut scanned
fi

# --- boot 2 ---
last=$(note_read | sed -n 's/^ext4 //p')
note_write done
check "boot 1 fsynced its files" [ "${last:-0}" -gt 0 ]
cs_up_after_cut $C $B
echo "### after the cut: state $(cat $SYS/state), dirty_data $(cat $SYS/dirty_data)"
drop_caches
check "ext4 mounts (and replays its journal)" \
	mount -t ext4 -o noinit_itable /dev/bcache0 $MNT
check_eq "every fsynced file (1..$last) reads back" 0 "$(files_bad $MNT/files)"
check "unmount" umount $MNT
check "e2fsck -fn finds the filesystem clean" $E2/e2fsck -fn /dev/bcache0

# Write all of it back and detach: the backing disk alone must hold it.
wb_drain_detach
dm_create ext4raw "0 $(( $(blockdev --getsz $B) - 16 )) linear $B 16"
check "e2fsck -fn finds vda alone clean" $E2/e2fsck -fn /dev/mapper/ext4raw
check "vda alone mounts read-only" \
	mount -t ext4 -o ro,noload /dev/mapper/ext4raw $MNT
check_eq "vda alone holds every fsynced file" 0 "$(files_bad $MNT/files)"
umount $MNT
dmsetup remove ext4raw
