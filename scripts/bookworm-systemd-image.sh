#!/usr/bin/env bash
# A Debian 12 tree that boots with systemd as PID 1 in systemd-nspawn (e2e/deb-systemd.test.ts), from
# Debian's packages with debootstrap. Cached under build/bookworm-systemd/<key>/, where the key is the
# hash of everything that decides the tree (this script, the suite, the mirror, the package list): a
# change to any of them builds a new tree and removes the old ones. Prints the tree's path.
#
#   scripts/bookworm-systemd-image.sh [EXTRA_PACKAGE...]
#
# EXTRA_PACKAGE: what the package under test depends on (the guest has no network, so `apt-get install
# ./nexcage_*.deb` inside it must find every dependency installed already).
set -euo pipefail

die() {
  echo "bookworm-systemd-image: $*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || die "run as root"
command -v debootstrap >/dev/null || die "debootstrap missing (scripts/setup-host.sh)"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=bookworm
mirror=${NEXCAGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# systemd as PID 1 (systemd-sysv), dbus for systemctl, the runtimes nexcage drives, busybox for bundles
base=(systemd systemd-sysv dbus crun runc busybox-static util-linux)
mapfile -t packages < <(printf '%s\n' "${base[@]}" "$@" | LC_ALL=C sort -u)
for p in "${packages[@]}"; do
  [[ $p =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "not a package name: $p"
done

key=$( (
  sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
  echo "$suite $mirror"
  printf '%s\n' "${packages[@]}"
) | sha256sum | cut -c1-16)
cache=$repo/build/bookworm-systemd
tree=$cache/$key/rootfs
if [[ -f $cache/$key/complete ]]; then
  echo "$tree"
  exit 0
fi

# one builder at a time; a second caller waits and then finds the tree built
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -f $cache/$key/complete ]]; then
  echo "$tree"
  exit 0
fi
for old in "$cache"/*/; do
  [[ -d $old ]] && rm -rf --one-file-system "$old"
done
work=$cache/$key.partial
rm -rf --one-file-system "$work"
mkdir -p "$work"
start=$SECONDS
include=$(
  IFS=,
  echo "${packages[*]}"
)
if ! debootstrap --variant=minbase --include="$include" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -20 "$work/debootstrap.log" >&2
  die "debootstrap failed (log: $work/debootstrap.log)"
fi
root=$work/rootfs
# a booted system without a console login or network to wait for; apt without the network
echo "nexcage-systemd" >"$root/etc/hostname"
: >"$root/etc/machine-id"
ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"
ln -sf /dev/null "$root/etc/systemd/system/systemd-networkd-wait-online.service"
# nor timers that would take apt's lock or do work in the middle of a test
for t in apt-daily apt-daily-upgrade dpkg-db-backup e2scrub_all fstrim; do
  ln -sf /dev/null "$root/etc/systemd/system/$t.timer"
done
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*_Packages
printf '%s\n' "${packages[@]}" >"$work/packages"
chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' >"$work/versions"
echo "$((SECONDS - start))" >"$work/build-seconds"
touch "$work/complete"
mv "$work" "$cache/$key"
echo "bookworm-systemd-image: built $cache/$key in $((SECONDS - start))s ($(du -sh "$cache/$key/rootfs" | cut -f1))" >&2
echo "$tree"
