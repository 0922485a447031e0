#!/usr/bin/env bash
# Remove every container, volume and network labelled with a stack name (data included!), and the
# DOCKER-USER rules of its jobs network and its firewall allow-list (commented "<stack> jobs -> <service>"
# and "<stack> allow -> <service>").
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
rules=0
if command -v iptables >/dev/null 2>&1; then
  mapfile -t stale < <(iptables -S DOCKER-USER 2>/dev/null \
    | grep -F -e "--comment \"$stack jobs -> " -e "--comment \"$stack allow -> " || true)
  for rule in "${stale[@]}"; do
    # `-A DOCKER-USER ...` as printed becomes `-D DOCKER-USER ...`; eval keeps the quoted comment whole.
    eval "iptables -D ${rule#-A }" && rules=$((rules + 1))
  done
fi
# The unit that puts the DOCKER-USER rules back at boot, where systemd runs.
unit="/etc/systemd/system/$stack-docker-user.service"
if [ -f "$unit" ]; then
  systemctl disable --now "$stack-docker-user.service" >/dev/null 2>&1 || true
  rm -f "$unit"
  systemctl daemon-reload 2>/dev/null || true
fi
# The stack's files on the server at the roles' default paths: the ZenML server's access-control package,
# the front door's and the database's certificates, the kept DOCKER-USER rules and their script, the backup
# script, its state and configuration (the backup repository itself is kept).
rm -rf "/opt/$stack/zenml-server" "/opt/$stack/front-door" "/opt/$stack/database-tls" \
  "/etc/$stack/docker-user.rules" "/usr/local/sbin/$stack-docker-user" \
  "/etc/$stack/backup" "/var/lib/$stack-backup" "/var/lib/$stack-restore" "/usr/local/sbin/$stack-backup"
rmdir "/opt/$stack" "/etc/$stack" 2>/dev/null || true
echo "removed stack $stack: ${#containers[@]} containers, ${#volumes[@]} volumes, ${#networks[@]} networks, $rules firewall rules"
