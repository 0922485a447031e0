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
cat <<ENV
export MLOPS_TEST_MINIO_ENDPOINT=$host:$(setting minio_api_port)
export MLOPS_TEST_MINIO_ACCESS_KEY=$(setting mlops_admin_username)
export MLOPS_TEST_MINIO_SECRET_KEY=\$(cat $secrets/minio_root_password)
export MLOPS_TEST_MYSQL_HOST=$host
export MLOPS_TEST_MYSQL_PORT=$(setting database_port)
export MLOPS_TEST_MYSQL_USER=root
export MLOPS_TEST_MYSQL_PASSWORD=\$(cat $secrets/database_root_password)
export MLOPS_TEST_ZENML_URL=http://$host:$(setting zenml_server_port)
export MLOPS_TEST_ZENML_USERNAME=$(setting mlops_admin_username)
export MLOPS_TEST_ZENML_PASSWORD=\$(cat $secrets/zenml_admin_password)
ENV
