#!/bin/bash
# Build (or reuse) a Debian bookworm image as a server that runs bcache
# has it: systemd and udev, Debian's own Linux 6.12 kernel (the newest
# point release the archive has) and its headers, dkms, bcache-tools,
# e2fsprogs and fio. Everything comes from Debian's package repository
# through mmdebstrap; nothing is built by us. The image is cached in
# $BCACHE_CACHE, keyed by the kernel version and this script, so that it
# is built once (a few minutes, mostly downloading) and reused.
#
# usage: scripts/debian-image.sh   prints the image folder on stdout:
#   root.img    the tree as an ext4 file system, the guest's root
#   kver        the kernel release, e.g. 6.12.118+deb12-amd64
. "$(dirname "$0")/lib.sh"

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# The newest linux-image-6.12.N+deb12-amd64 in the archive: bookworm
# ships 6.12 point releases through its security suite, with no
# meta-package that follows them.
newest_612() {
	apt-get update -q >/dev/null 2>&1 || true
	apt-cache pkgnames linux-image-6.12. |
		grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' |
		sed 's/^linux-image-//' | sort -V | tail -n 1
}

kver=${DEBIAN_KVER:-$(newest_612)}
[ -n "$kver" ] || die "no linux-image-6.12.*+deb12-amd64 in the archive"
key=$(cat "$0" | sha256sum | cut -c1-12)
out=$BCACHE_CACHE/debian-bookworm-$kver-$key
if [ -f "$out/.built" ]; then
	echo "$out"
	exit 0
fi

command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run scripts/deps.sh"
t0=$(date +%s)
log "building a Debian bookworm image with Linux $kver in $out"
# --one-file-system: a build killed half-way may leave its mounts behind.
rm -rf --one-file-system "$out"
mkdir -p "$out"

pkgs=(systemd-sysv udev kmod initramfs-tools "linux-image-$kver"
      "linux-headers-$kver" dkms bcache-tools e2fsprogs fio util-linux
      procps)

# The guest: no password for root, no network, no login on the serial
# console (the scenario's steps write there), and a unit that runs the
# scenario's next step once the system is up.
mmdebstrap --variant=minbase --mode=root \
	--include="$(IFS=,; echo "${pkgs[*]}")" \
	--customize-hook='echo bcache-debian > "$1/etc/hostname"' \
	--customize-hook='chroot "$1" passwd -d root' \
	--customize-hook='printf "/dev/vda / ext4 defaults 0 1\nLABEL=bcscenario /scenario ext4 ro,nofail 0 0\n" > "$1/etc/fstab"' \
	--customize-hook='printf "[Unit]\nDescription=bcache scenario step\nAfter=local-fs.target systemd-udev-settle.service\nWants=systemd-udev-settle.service\nRequiresMountsFor=/scenario\nConditionPathExists=/scenario/step.sh\n[Service]\nType=oneshot\nStandardOutput=tty\nStandardError=tty\nTTYPath=/dev/ttyS0\nExecStart=/bin/bash /scenario/step.sh\n[Install]\nWantedBy=multi-user.target\n" > "$1/etc/systemd/system/bcache-step.service"' \
	--customize-hook='chroot "$1" systemctl enable bcache-step.service' \
	--customize-hook='chroot "$1" systemctl mask serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer' \
	bookworm "$out/rootfs" \
	"deb $MIRROR bookworm main" \
	"deb $MIRROR bookworm-updates main" \
	"deb $SECURITY bookworm-security main" >&2

echo "$kver" > "$out/kver"
# Room for the module tree DKMS adds and a rebuilt initramfs.
truncate -s 3G "$out/root.img"
mke2fs -q -t ext4 -L root -d "$out/rootfs" "$out/root.img"
rm -rf --one-file-system "$out/rootfs"
touch "$out/.built"
log "Debian image built in $(( $(date +%s) - t0 )) s"
echo "$out"
