#!/bin/bash
# Diagnosis (not a test): list every request a registration sends to the
# disks, ours against the kernel's bcache on the same full set, from QEMU's
# own trace of the virtio-blk requests (tools/jobs/reg-io-guest.sh brackets each
# registration with a read of vdc at a marker sector).
# usage: tools/reg-io.sh
. "$(dirname "$0")/../scripts/lib.sh"
bash "$REPO/scripts/deps.sh"
"$REPO/scripts/kernel.sh" perf > /dev/null
ko=$("$REPO/scripts/module.sh" perf "$BCACHE_CACHE/module-perf" \
	CONFIG_BCACHE_KUNIT_TEST= CONFIG_BCACHE_CLOSURES_DEBUG=)
trace=$(mktemp) logf=$(mktemp)
trap 'rm -f "$trace" "$logf"' EXIT
# One vCPU counting instructions: the order of the requests is the
# drivers', not the host's.
VM_ACCEL="-accel tcg,thread=single -icount shift=0,sleep=off \
-trace virtio_blk_handle_read -trace virtio_blk_handle_write -D $trace" \
	"$REPO/scripts/vm.sh" -f perf -k "$ko" -l "$logf" -t 1800 jobs/reg-io-guest
grep -a '^REGIO' "$logf" | tr -d '\r'
# Devices by what they first did: vdc is read at the first marker, the
# cache (on vdb) is read at its journal's first bucket.
vdc=$(awk '$1 ~ /read/ && $7 == 8008 { print $3; exit }' "$trace")
vdb=$(awk '$1 ~ /read/ && $7 == 1024 { print $3; exit }' "$trace")
awk -v C="$vdc" -v B="$vdb" '
	$3 == C {
		if ($7 >= 8000 && $7 < 16000) { k++; ph = "register" }
		else if ($7 >= 16000 && $7 < 24000) ph = "after"
		else ph = ""
		next
	}
	k && ph {
		# "|": the registration returned; the rest came after.
		if (ph == "after" && !mark[k]++)
			line[k] = line[k] " |"
		line[k] = line[k] sprintf(" %s%s:%s+%s", $3 == B ? "vdb" : "vda",
			$1 ~ /read/ ? "R" : "W", $7, $9)
	}
	END { for (i = 1; i <= k; i++) printf "REG %d:%s\n", i, line[i] }' "$trace"
