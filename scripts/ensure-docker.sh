#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, installing Debian's docker.io if needed.
# On a host without an init system (containers, some CI machines) the daemon is started in the
# background by scripts/dockerd.sh; elsewhere by systemd or the init script.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing docker.io from the distribution's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if [ -d /run/systemd/system ]; then
  systemctl enable --now docker
else
  "$here/dockerd.sh" start
fi

for _ in $(seq 1 30); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "ensure-docker: the Docker engine did not answer after 30 s" >&2
exit 1
