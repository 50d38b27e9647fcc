#!/usr/bin/env bash
# Prepares a Debian 12 host (as root) for nexcage and its tests: the runtimes and tools from
# Debian's packages, and the cgroup layout crun needs. Idempotent; safe to run again.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-host: run as root" >&2
  exit 1
fi

# dpkg-dev, binutils, lintian, man-db: packaging/build-deb (dpkg-shlibdeps, strip, lintian, man -w in e2e/deb.test.ts)
# skopeo + umoci: images (pull, create --image); docker-registry + apache2-utils (htpasswd): the
# images e2e suite's local registry with basic auth
# debootstrap + systemd-container: e2e/deb-systemd.test.ts boots Debian 12 with systemd in systemd-nspawn
# gcc + libc6-dev: packaging/ct-init (a static helper)
# qemu-system-x86, qemu-utils, genisoimage: the qm stand-in's real VMs (QEMU, disk import, the NoCloud
# cloud-init ISO); debootstrap, grub-pc-bin: the guest image they boot (test/sim/guest/build-image.sh)
packages=(gcc libc6-dev crun runc busybox-static jq ca-certificates containerd lxc uidmap dpkg-dev binutils lintian man-db skopeo umoci docker-registry apache2-utils debootstrap systemd-container
          qemu-system-x86 qemu-utils genisoimage grub-pc-bin)
# containernetworking-plugins (bridge, host-local, loopback in /usr/lib/cni) + iproute2 (ip): the pods'
# network of e2e/cri-harness.ts (containerd's CRI plugin)
packages+=(containernetworking-plugins iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-host: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || [[ $(node -p 'process.versions.node.split(".")[0]') -lt 20 ]]; then
  echo "setup-host: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# crun 1.8.1 refuses a hybrid cgroup layout whose v2 hierarchy holds the hugetlb controller
# ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"). On such hosts
# (v1 controllers under /sys/fs/cgroup/<ctrl>, cgroup2 at /sys/fs/cgroup/unified) mounting the
# v1 hugetlb hierarchy moves the controller off v2.
if [[ $(stat -f -c %T /sys/fs/cgroup) == tmpfs ]] && [[ -d /sys/fs/cgroup/unified ]] && grep -qw hugetlb /proc/cgroups; then
  mkdir -p /sys/fs/cgroup/hugetlb
  if ! mountpoint -q /sys/fs/cgroup/hugetlb; then
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
    echo "setup-host: mounted the hugetlb cgroup v1 hierarchy for crun"
  fi
fi
# LXC for the Proxmox stand-in (test/sim): unprivileged containers map root to 100000 as on a
# Proxmox host. LXC (and lxc-usernsexec) set the map up with newuidmap/newgidmap from `uidmap`,
# which refuse ranges not delegated to root in /etc/subuid and /etc/subgid.
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  if ! grep -qx 'root:100000:65536' "$f"; then
    echo 'root:100000:65536' >>"$f"
    echo "setup-host: delegated 100000-165535 to root in $f (Proxmox's unprivileged CT range)"
  fi
done
# libcrun.so for the crun backend's FFI driver (cached in build/libcrun; about 90 s the first time).
bash "$(dirname "$0")/../packaging/libcrun/build.sh"
# The Debian 12 guest image the qm stand-in's VMs boot (cached in build/guest-image; about 2 min the first time).
bash "$(dirname "$0")/../test/sim/guest/build-image.sh"
# nexcage-ct-init for proxmox-lxc CTs under containerd (build/ct-init; under a second)
bash "$(dirname "$0")/../packaging/ct-init/build.sh"

echo "setup-host: ok ($(crun --version | head -1); $(runc --version | head -1))"
