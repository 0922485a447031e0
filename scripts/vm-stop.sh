#!/usr/bin/env bash
# Stop the VM scripts/vm-start.sh NAME booted, remove its overlay, and fail if its QEMU survived.
#   scripts/vm-stop.sh NAME
set -euo pipefail

name="${1:?usage: $0 NAME}"
[[ "$name" =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "vm-stop: bad name $name" >&2; exit 2; }
run="${MLOPS_CACHE_DIR:-$HOME/.cache/onprem-mlops}/vm/run-$name"

if [ -s "$run/vm.pid" ]; then
  pid="$(cat "$run/vm.pid")"
  # Only a QEMU of ours: a stale pid file must not make us signal somebody else's process.
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = qemu-system-x86 ] &&
    grep -qa -- "mlops-$name" "/proc/$pid/cmdline"; then
    kill "$pid"
    for _ in $(seq 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    sleep 1
    if kill -0 "$pid" 2>/dev/null; then
      echo "vm-stop: QEMU $pid of $name is still running" >&2
      exit 1
    fi
  fi
fi
rm -rf "$run"
echo "vm-stop: $name stopped" >&2
