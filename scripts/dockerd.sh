#!/usr/bin/env bash
# Start, stop or restart dockerd on a host without an init system (log: /var/log/dockerd.log).
set -euo pipefail
pidfile=/var/run/docker.pid
log=/var/log/dockerd.log

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
  running && return 0
  nohup dockerd >>"$log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "dockerd.sh: dockerd did not come up, see $log" >&2
  return 1
}

stop() {
  running || return 0
  local pid
  pid="$(cat "$pidfile")"
  kill "$pid"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  echo "dockerd.sh: dockerd ($pid) did not stop" >&2
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) running && echo running || { echo stopped; exit 3; } ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
