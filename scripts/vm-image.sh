#!/usr/bin/env bash
# Build (once) the Debian 12 image the `vm` Molecule scenario boots, and print the directory holding it.
#   scripts/vm-image.sh            build when missing or when this recipe changed, else reuse
#   scripts/vm-image.sh --rebuild  build again
# Output in ${MLOPS_CACHE_DIR:-~/.cache/onprem-mlops}/vm: base.qcow2 (root filesystem, no partition
# table), vmlinuz and initrd.img (QEMU boots them directly), id_ed25519 (the key of the VM's user
# `mlops`, who has passwordless sudo). Only Debian packages are downloaded, from the mirror in this
# machine's APT sources. Needs root (debootstrap, file ownership inside the image).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${MLOPS_CACHE_DIR:-$HOME/.cache/onprem-mlops}/vm"
vm_user=mlops
# Packages the image carries: what Ansible, SSH with sudo, systemd-networkd and a kernel need.
include=linux-image-amd64,systemd-sysv,udev,kmod,initramfs-tools,openssh-server,sudo,python3,iproute2
include+=,dbus,ca-certificates,procps,netbase,iptables
# Bump when the recipe below changes: a cached image of another version is rebuilt.
image_version=1
recipe_id="$image_version-$(cat "$repo/images/vm/"* | sha256sum | cut -c1-16)"

log() { echo "vm-image: $*" >&2; }

install_tools() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v qemu-img >/dev/null || need+=(qemu-utils)
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
  if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

# The Debian mirror this machine's APT uses (scripts/apt-mirror.py), never a fixed host name.
debian_mirror() {
  local mirror
  mirror="${MLOPS_DEBIAN_MIRROR:-$(python3 "$repo/scripts/apt-mirror.py" main || true)}"
  [ -n "$mirror" ] || { log "no Debian mirror in this machine's APT sources (or MLOPS_DEBIAN_MIRROR)"; exit 1; }
  echo "$mirror"
}

configure_rootfs() {
  local rootfs="$1" mirror="$2"
  echo mlops-vm >"$rootfs/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 mlops-vm\n' >"$rootfs/etc/hosts"
  echo 'LABEL=root / ext4 errors=remount-ro 0 1' >"$rootfs/etc/fstab"
  # The same mirror as this machine, for the apt installs the playbook makes (docker.io, python3-venv).
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
EOF
  install -m 0644 "$repo/images/vm/20-wired.network" "$rootfs/etc/systemd/network/20-wired.network"
  # QEMU's user-mode network answers DNS at 10.0.2.3.
  echo 'nameserver 10.0.2.3' >"$rootfs/etc/resolv.conf"
  # TLS to the package registries goes through this machine's trust store (it may hold a site CA).
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/host-ca-bundle.crt"
  install -m 0644 "$repo/images/vm/pip.conf" "$rootfs/etc/pip.conf"
  chroot "$rootfs" systemctl enable systemd-networkd ssh >/dev/null 2>&1
  chroot "$rootfs" useradd --create-home --shell /bin/bash "$vm_user"
  echo "$vm_user ALL=(ALL) NOPASSWD:ALL" >"$rootfs/etc/sudoers.d/$vm_user"
  chmod 0440 "$rootfs/etc/sudoers.d/$vm_user"
  install -d -m 0700 "$rootfs/home/$vm_user/.ssh"
  install -m 0600 "$rootfs.key.pub" "$rootfs/home/$vm_user/.ssh/authorized_keys"
  chroot "$rootfs" chown -R "$vm_user:$vm_user" "/home/$vm_user/.ssh"
  # No root password, no password logins at all; host keys are made per image.
  printf 'PasswordAuthentication no\nPermitRootLogin no\nUseDNS no\n' >"$rootfs/etc/ssh/sshd_config.d/mlops.conf"
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  chroot "$rootfs" ssh-keygen -A >/dev/null
  chroot "$rootfs" apt-get clean
}

work=""
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT

build() {
  local rootfs mirror
  work="$(mktemp -d "$cache/build.XXXXXX")"
  rootfs="$work/rootfs"
  mirror="$(debian_mirror)"
  ssh-keygen -q -t ed25519 -N '' -C mlops-vm -f "$rootfs.key"
  log "debootstrap bookworm (a few minutes)"
  debootstrap --variant=minbase --include="$include" bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  configure_rootfs "$rootfs" "$mirror"
  cp "$rootfs"/boot/vmlinuz-* "$work/vmlinuz"
  cp "$rootfs"/boot/initrd.img-* "$work/initrd.img"
  log "making the disk"
  truncate -s 40G "$work/disk.raw"
  mkfs.ext4 -q -L root -d "$rootfs" "$work/disk.raw"
  qemu-img convert -O qcow2 "$work/disk.raw" "$work/base.qcow2"
  echo "$recipe_id" >"$work/recipe"
  mv "$rootfs.key" "$work/id_ed25519"
  mv "$work"/{base.qcow2,vmlinuz,initrd.img,id_ed25519,recipe} "$cache/"
  chmod 0600 "$cache/id_ed25519"
}

mkdir -p "$cache"
chmod 0700 "$cache"
install_tools
if [ "${1:-}" = --rebuild ] || [ "$(cat "$cache/recipe" 2>/dev/null)" != "$recipe_id" ] ||
  [ ! -s "$cache/base.qcow2" ]; then
  # A base image never changes under a running overlay: refuse while a VM of ours uses it.
  if compgen -G "$cache/run-*/vm.pid" >/dev/null; then
    log "a VM still runs from the cached image ($cache/run-*): destroy it first"
    exit 1
  fi
  started=$(date +%s)
  build
  log "image built in $(($(date +%s) - started)) s"
fi
echo "$cache"
