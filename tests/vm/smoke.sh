# Smoke: the kernel boots, sees its disks, and both bcache modules load.
check "virtio disk present" test -b /dev/vda
check "reference bcache.ko loads" load_ref
check "reference bcache.ko unloads" rmmod bcache
check "our bcache.ko loads" load_ours
check "/sys/fs/bcache exists" test -d /sys/fs/bcache
check "our bcache.ko unloads" rmmod bcache
