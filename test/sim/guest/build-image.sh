#!/usr/bin/env bash
# The guest image the qm stand-in's VMs boot: Debian 12 from Debian's packages (debootstrap bookworm
# with linux-image-amd64, systemd, cloud-init, qemu-guest-agent, busybox) on a BIOS-bootable raw disk
# (MBR, one ext4 partition, GRUB), the kind of cloud image an operator imports into Proxmox. See
# test/sim/guest/README.md.
#
# Usage (as root):  test/sim/guest/build-image.sh
# Env:
#   GUEST_IMAGE_OUT    output dir (default: <repo>/build/guest-image)
#   GUEST_IMAGE_FORCE=1 rebuild even when the cached image matches its inputs
# Output: $OUT/debian-12-nexcage.raw, $OUT/vmlinuz and $OUT/initrd.img (the image's kernel, for the
# stand-in's accelerator probe), $OUT/BUILD-INFO (the inputs' key). Cached: rebuilt only when this
# script (which holds every input) changes.
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT")/../../.." && pwd)
OUT=${GUEST_IMAGE_OUT:-$REPO_ROOT/build/guest-image}
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
# debootstrap lays down the base; apt then installs the rest (it orders the configuration of cloud-init's
# python dependencies, which debootstrap's second stage does not), the kernel after the initramfs setup.
INCLUDE=systemd-sysv,udev,initramfs-tools,zstd
PACKAGES=(dbus cloud-init qemu-guest-agent busybox procps e2fsprogs ca-certificates linux-image-amd64)
DISK_MIB=2048
# Fixed, so the image (its fstab, its GRUB config) is the same from one build to the next.
ROOT_UUID=5e2f0c2a-6d1b-4c53-9b3e-6e65786361ff
CMDLINE="root=UUID=$ROOT_UUID ro console=ttyS0,115200 quiet"
GRUB_MODULES=(biosdisk part_msdos ext2 normal linux boot configfile echo test)

log() { printf '[guest-image] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
for t in debootstrap mkfs.ext4 grub-mkimage qemu-img; do command -v "$t" >/dev/null || die "$t not found: run scripts/setup-host.sh"; done

KEY=$(sha256sum "$SCRIPT" | cut -c1-16)
IMAGE=$OUT/debian-12-nexcage.raw
if [[ ${GUEST_IMAGE_FORCE:-} != 1 && -f $IMAGE && "$(cat "$OUT/BUILD-INFO" 2>/dev/null)" == "key=$KEY" ]]; then
  log "cached: $IMAGE ($KEY)"
  exit 0
fi

T0=$(date +%s)
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d "$(dirname "$OUT")/.guest-image.XXXXXX")
cleanup() {
  for m in dev/pts dev proc sys; do mountpoint -q "$WORK/root/$m" && umount -l "$WORK/root/$m"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
ROOT=$WORK/root

log "debootstrap $SUITE ($INCLUDE)"
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }

# A small initramfs with the drivers a Proxmox VM's boot disk needs (virtio-scsi, virtio-blk, IDE/SATA):
# less to unpack when the guest runs under TCG.
cat >"$ROOT/etc/initramfs-tools/conf.d/nexcage.conf" <<'EOF'
MODULES=list
COMPRESS=zstd
EOF
printf '%s\n' virtio_pci virtio_scsi virtio_blk sym53c8xx sd_mod sr_mod ata_piix ahci ext4 >>"$ROOT/etc/initramfs-tools/modules"
mount -t proc proc "$ROOT/proc"; mount -t sysfs sys "$ROOT/sys"; mount --bind /dev "$ROOT/dev"; mount --bind /dev/pts "$ROOT/dev/pts"
log "installing ${PACKAGES[*]}"
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; die "apt-get install failed"; }
chroot "$ROOT" apt-get clean
for m in dev/pts dev proc sys; do umount -l "$ROOT/$m"; done

log "configuring the guest"
echo "UUID=$ROOT_UUID / ext4 defaults,errors=remount-ro 0 1" >"$ROOT/etc/fstab"
echo localhost >"$ROOT/etc/hostname"
: >"$ROOT/etc/machine-id" # generated at first boot: every clone gets its own
# The NoCloud drive Proxmox attaches is the only data source; the `None` fallback keeps a VM without it bootable.
cat >"$ROOT/etc/cloud/cloud.cfg.d/90-nexcage-datasource.cfg" <<'EOF'
datasource_list: [ NoCloud, None ]
EOF
# The image has no locales and no SSH server: nothing for cloud-init to set up there. The modules go
# from cloud.cfg's lists (`locale: false` and `ssh_genkeytypes: []` would say it too, but cloud-init's
# schema refuses both, and every boot then logs "Invalid cloud-config provided").
UNNEEDED='ssh|locale|set-passwords|ssh-authkey-fingerprints|keys-to-console'
[[ $(grep -cE "^ - ($UNNEEDED)\$" "$ROOT/etc/cloud/cloud.cfg") -eq 5 ]] || die "cloud.cfg does not list the modules to drop ($UNNEEDED)"
sed -i -E "/^ - ($UNNEEDED)\$/d" "$ROOT/etc/cloud/cloud.cfg"
# Nothing in the guest waits for the network beyond its first DHCP answer.
mkdir -p "$ROOT/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat >"$ROOT/etc/systemd/system/systemd-networkd-wait-online.service.d/nexcage.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=30
EOF
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do ln -sf /dev/null "$ROOT/etc/systemd/system/$u"; done
chroot "$ROOT" systemctl enable systemd-networkd.service >/dev/null 2>&1
mkdir -p "$ROOT/boot/grub"
VMLINUZ=$(cd "$ROOT/boot" && ls vmlinuz-* | sort -V | tail -1)
INITRD=initrd.img-${VMLINUZ#vmlinuz-}
[[ -f $ROOT/boot/$INITRD ]] || die "no $INITRD in the image"
cat >"$ROOT/boot/grub/grub.cfg" <<EOF
set timeout=0
menuentry 'Debian GNU/Linux 12' {
  linux /boot/$VMLINUZ $CMDLINE
  initrd /boot/$INITRD
}
EOF
rm -rf "$ROOT/var/lib/apt/lists/"* "$ROOT/var/cache/apt/"*.bin "$ROOT/var/log/"*.log

log "making the disk (MBR, ext4 at 1 MiB, GRUB)"
DISK=$WORK/disk.raw
truncate -s "${DISK_MIB}M" "$DISK"
PART_SECTORS=$(( (DISK_MIB - 1) * 2048 ))
mkfs.ext4 -q -F -L rootfs -U "$ROOT_UUID" -E offset=1048576,root_owner=0:0 -d "$ROOT" "$DISK" "$((DISK_MIB - 1))M"
# GRUB's boot sector (its first 440 bytes) and core image (right after it, in the gap before the
# partition): grub-mkimage already records the core image's length in its first sector and boot.img
# loads from sector 1, so no grub-install (and no loop device) is needed.
grub-mkimage -O i386-pc -o "$WORK/core.img" -p '(hd0,msdos1)/boot/grub' "${GRUB_MODULES[@]}"
dd if=/usr/lib/grub/i386-pc/boot.img of="$DISK" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/core.img" of="$DISK" bs=512 seek=1 conv=notrunc status=none
# the partition table: one bootable Linux partition (type 83) from sector 2048 to the end, LBA only
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
printf "\\x80\\xfe\\xff\\xff\\x83\\xfe\\xff\\xff$(le32 2048)$(le32 "$PART_SECTORS")" | dd of="$DISK" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$DISK" bs=1 seek=510 conv=notrunc status=none
cp "$ROOT/boot/$VMLINUZ" "$WORK/vmlinuz"
cp "$ROOT/boot/$INITRD" "$WORK/initrd.img"

rm -rf "$OUT"
mkdir -p "$OUT"
mv "$DISK" "$IMAGE"
mv "$WORK/vmlinuz" "$WORK/initrd.img" "$OUT/"
echo "key=$KEY" >"$OUT/BUILD-INFO"
log "built $IMAGE ($VMLINUZ) in $(( $(date +%s) - T0 ))s"
