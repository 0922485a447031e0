#!/usr/bin/env bash
# Wait until every named container reports healthy (at most $TIMEOUT seconds, default 180).
set -euo pipefail
deadline=$(( $(date +%s) + ${TIMEOUT:-180} ))
for name in "$@"; do
  until [ "$(docker inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null)" = healthy ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "wait-healthy: $name is not healthy" >&2
      exit 1
    fi
    sleep 1
  done
done
