#!/usr/bin/env bash
# Remove every container, volume and network labelled with a stack name (data included!).
#   scripts/remove-stack.sh mlops-ci
set -euo pipefail
stack="${1:?usage: $0 STACK_NAME}"
label="label=org.onprem-mlops.stack=$stack"
mapfile -t containers < <(docker ps -aq --filter "$label")
[ "${#containers[@]}" -eq 0 ] || docker rm -f "${containers[@]}" >/dev/null
mapfile -t volumes < <(docker volume ls -q --filter "$label")
[ "${#volumes[@]}" -eq 0 ] || docker volume rm "${volumes[@]}" >/dev/null
mapfile -t networks < <(docker network ls -q --filter "$label")
[ "${#networks[@]}" -eq 0 ] || docker network rm "${networks[@]}" >/dev/null
echo "removed stack $stack: ${#containers[@]} containers, ${#volumes[@]} volumes, ${#networks[@]} networks"
