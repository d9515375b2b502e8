# Fuzzed cache superblocks: 24 seeded cases, each one to three fields of
# a used cache's superblock set to edge or random values with the
# checksum fixed up (sbedit --fuzz SEED, reproducible). Registering each
# either works (then the set is stopped) or fails; it never hangs or
# splats, and no half-built set stays in /sys/fs/bcache. The cache is a
# 32 MiB dm-linear device whose image is kept on vdc and copied back
# after every case. The kernel command line's fuzzcases=N sets the
# number of cases and fuzzfirst=S the first seed (scripts/fuzz.sh runs
# many). Runs against $BCMOD.
MIB=32
CASES=$(sed -n 's/.*fuzzcases=\([0-9]*\).*/\1/p' /proc/cmdline)
CASES=${CASES:-24}
FIRST=$(sed -n 's/.*fuzzfirst=\([0-9]*\).*/\1/p' /proc/cmdline)
FIRST=${FIRST:-1}
wipe /dev/vdb
check "a 32 MiB cache device (dm-linear on vdb)" dm_small bc_fuzz /dev/vdb $MIB
C=/dev/mapper/bc_fuzz
wipe $C
check "make-bcache -C, 32 KiB buckets (1024 of them)" make-bcache -C $C --bucket 32k
check "module loads" load_bcache
# Used once, so that the journal, prios and btree root exist on disk.
check "the cache registers" bc_register $C
check "its set comes up" retry 20 sh -c '[ -n "$(ls -d /sys/fs/bcache/*-*-*-*-* 2>/dev/null)" ]'
check "stop the set" cs_stop
check "the cache image is saved on vdc" image_save $C $MIB

restore() { image_put_back $C $MIB; }

dd if=$C of=/tmp/sb.orig bs=4096 count=2 2>/dev/null
seed=$FIRST
registered=0
while [ $seed -lt $((FIRST + CASES)) ]; do
	cp /tmp/sb.orig /tmp/sb.fuzz
	edits=$(sbedit /tmp/sb.fuzz --fuzz $seed | tr '\n' ' ')
	what="seed $seed ($edits)"
	repl=$(sbedit /tmp/sb.fuzz --show | sed -n 's/^replacement //p')
	if testing_ref && [ "$repl" -gt 2 ]; then
		# The kernel's allocator spins forever on an unknown policy.
		echo "### $what: skipped under ref (replacement policy $repl hangs it)"
		seed=$((seed + 1))
		continue
	fi
	dd if=/tmp/sb.fuzz of=$C bs=4096 count=2 conv=notrunc,fsync 2>/dev/null
	blockdev --flushbufs $C
	wait_released $C
	kmsg_mark "fuzz$seed"
	if bc_register $C 2>/dev/null; then
		registered=$((registered + 1))
		sleep 1
		check "$what: registered, then stops cleanly" retry 30 stop_everything
	else
		check "$what: refused, nothing left behind" retry 20 no_set
	fi
	echo "### $what: $(dmesg_after "fuzz$seed" | grep -i bcache | tail -n 1)"
	check_eq "$what: /sys/fs/bcache holds no set" "" "$(cs_dir)"
	# A set that started may have written its metadata: start afresh.
	restore
	seed=$((seed + 1))
done
echo "### $registered of $CASES fuzzed superblocks registered"

check "the restored cache registers" retry 10 bc_register $C
check "its set comes up" retry 20 sh -c '[ -n "$(ls -d /sys/fs/bcache/*-*-*-*-* 2>/dev/null)" ]'
check "stop the set" cs_stop
unload_bcache
check "dm device removed" retry 10 dmsetup remove bc_fuzz
