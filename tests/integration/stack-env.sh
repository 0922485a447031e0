#!/usr/bin/env bash
# Print the MLOPS_TEST_* variables locating the stack Molecule's default scenario deployed, for the
# integration targets:   eval "$(tests/integration/stack-env.sh)"
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vars="$repo/molecule/shared/group_vars/mlops_servers.yml"
secrets="$repo/build/ci-credentials/server"
[ -d "$secrets" ] || { echo "stack-env.sh: $secrets is missing: run the Molecule default scenario first" >&2; exit 1; }
setting() { sed -n "s/^$1: *//p" "$vars" | tr -d '"'; }
host="$(setting mlops_bind_address)"
# The administrator's endpoints: behind the TLS front door, the services' loopback ports (the public
# port + 10000 unless the variables say otherwise), as the collection's modules use them.
backend() {
  local given public
  given="$(setting "$1")"
  public="$(setting "$2")"
  if [ "$(setting mlops_tls_certificates)" = none ]; then echo "$host:$public"
  elif [ -n "$given" ]; then echo "127.0.0.1:$given"
  elif [ "$public" -lt 55536 ]; then echo "127.0.0.1:$((public + 10000))"
  else echo "127.0.0.1:$((public - 10000))"; fi
}
cat <<ENV
export MLOPS_TEST_MINIO_ENDPOINT=$(backend minio_backend_api_port minio_api_port)
export MLOPS_TEST_MINIO_ACCESS_KEY=$(setting mlops_admin_username)
export MLOPS_TEST_MINIO_SECRET_KEY=\$(cat $secrets/minio_root_password)
export MLOPS_TEST_MYSQL_HOST=$host
export MLOPS_TEST_MYSQL_PORT=$(setting database_port)
export MLOPS_TEST_MYSQL_USER=root
export MLOPS_TEST_MYSQL_PASSWORD=\$(cat $secrets/database_root_password)
export MLOPS_TEST_ZENML_URL=http://$(backend zenml_server_backend_port zenml_server_port)
export MLOPS_TEST_CA_FILE=$([ -f "$repo/build/ci-credentials/tls/ca.crt" ] && echo "$repo/build/ci-credentials/tls/ca.crt")
export MLOPS_TEST_ZENML_USERNAME=$(setting mlops_admin_username)
export MLOPS_TEST_ZENML_PASSWORD=\$(cat $secrets/zenml_admin_password)
ENV
