#!/usr/bin/env bash
# Boot a throw-away VM from the cached image (scripts/vm-image.sh) and wait until SSH answers.
#   scripts/vm-start.sh NAME HOSTPORT:GUESTPORT...   e.g. scripts/vm-start.sh mlops-vm 22022:22 22306:22306
# Every forward listens on 127.0.0.1 of this machine only (QEMU user-mode network, no bridge, no tap).
# The VM writes to an overlay in ${MLOPS_CACHE_DIR:-~/.cache/onprem-mlops}/vm/run-NAME, which
# scripts/vm-stop.sh NAME removes with the QEMU process. KVM is used when a VM really runs under it
# (probed once per boot of this machine), software emulation (TCG) otherwise.
# Environment: MLOPS_VM_MEMORY (MiB, 4096), MLOPS_VM_CPUS (2), MLOPS_VM_BOOT_TIMEOUT (s, 600).
set -euo pipefail

name="${1:?usage: $0 NAME HOSTPORT:GUESTPORT...}"
shift
[ "$#" -gt 0 ] || { echo "vm-start: give at least the SSH forward, e.g. 22022:22" >&2; exit 2; }
[[ "$name" =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "vm-start: bad name $name" >&2; exit 2; }
memory="${MLOPS_VM_MEMORY:-4096}"
cpus="${MLOPS_VM_CPUS:-2}"
boot_timeout="${MLOPS_VM_BOOT_TIMEOUT:-600}"

log() { echo "vm-start: $*" >&2; }

# PVM and other nested KVMs expose /dev/kvm but cannot run a stock kernel: boot the image's kernel
# without a root filesystem and accept KVM only if it gets as far as looking for one.
probe_kvm() {
  local probe
  [ -w /dev/kvm ] || return 1
  probe="$(mktemp -d)"
  timeout 30 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -display none -no-reboot \
    -kernel "$cache/vmlinuz" -append 'console=ttyS0 panic=-1' -serial "file:$probe/serial.log" \
    >"$probe/qemu.log" 2>&1 || true
  grep -q 'Unable to mount root fs' "$probe/serial.log" 2>/dev/null
  local verdict=$?
  rm -rf "$probe"
  return "$verdict"
}

accelerator() {
  local boot_id marker
  boot_id="$(cat /proc/sys/kernel/random/boot_id)"
  marker="$cache/accel-$boot_id"
  if [ ! -s "$marker" ]; then
    rm -f "$cache"/accel-*
    if probe_kvm; then echo kvm >"$marker"; else echo tcg >"$marker"; fi
  fi
  cat "$marker"
}

forwards=""
for forward in "$@"; do
  [[ "$forward" =~ ^[0-9]+:[0-9]+$ ]] || { log "bad forward $forward (HOSTPORT:GUESTPORT)"; exit 2; }
  if ss -Htln "sport = :${forward%%:*}" | grep -q .; then
    log "port ${forward%%:*} is already in use on this machine"
    exit 1
  fi
  forwards+=",hostfwd=tcp:127.0.0.1:${forward%%:*}-:${forward##*:}"
done
ssh_port="${1%%:*}"

cache="$("$(dirname "$0")/vm-image.sh")"
run="$cache/run-$name"
if [ -e "$run/vm.pid" ] && kill -0 "$(cat "$run/vm.pid")" 2>/dev/null; then
  log "VM $name already runs (pid $(cat "$run/vm.pid")); scripts/vm-stop.sh $name first"
  exit 1
fi
rm -rf "$run"
mkdir -m 0700 "$run"

case "$(accelerator)" in
  kvm) accel=(-accel kvm -cpu host) ;;
  # A CPU without AVX: emulated AVX2 makes hashing and ciphers (docker load, sshd) over twice slower than the
  # SSE code the same programs fall back to; Westmere still has AES-NI and SSE4.2.
  *) accel=(-accel tcg,thread=multi -cpu Westmere) ;;
esac
log "booting $name with ${accel[1]} (${memory} MiB, ${cpus} CPUs)"
qemu-img create -q -f qcow2 -b "$cache/base.qcow2" -F qcow2 "$run/disk.qcow2"
started=$(date +%s)
qemu-system-x86_64 "${accel[@]}" -m "$memory" -smp "$cpus" -nodefaults -display none \
  -name "mlops-$name" -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" \
  -append 'root=/dev/vda rw console=ttyS0 quiet' \
  -drive "file=$run/disk.qcow2,if=virtio,format=qcow2" \
  -netdev "user,id=n0$forwards" -device virtio-net-pci,netdev=n0 \
  -serial "file:$run/serial.log" -daemonize -pidfile "$run/vm.pid"

ssh_opts=(-i "$cache/id_ed25519" -p "$ssh_port" -o BatchMode=yes -o ConnectTimeout=10
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
until ssh "${ssh_opts[@]}" mlops@127.0.0.1 true 2>/dev/null; do
  if ! kill -0 "$(cat "$run/vm.pid")" 2>/dev/null; then
    log "QEMU exited; the end of its console:"
    tail -n 20 "$run/serial.log" >&2
    exit 1
  fi
  if [ $(($(date +%s) - started)) -gt "$boot_timeout" ]; then
    log "no SSH after $boot_timeout s; the end of the console:"
    tail -n 20 "$run/serial.log" >&2
    exit 1
  fi
  sleep 3
done
log "SSH up on 127.0.0.1:$ssh_port after $(($(date +%s) - started)) s"
