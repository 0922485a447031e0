#!/bin/bash
# Health check of onprem-mlops/mariadb, a small subset of the official image's healthcheck.sh:
#   healthcheck.sh [--connect] [--innodb_initialized] [--innodb_buffer_pool_loaded] [--su-mysql]
# With no test given it runs --connect. Exits non-zero on the first failing test.
# Credentials: the 'healthcheck' account the entrypoint creates (password in
# <datadir>/.my-healthcheck.cnf); without that file, a login refusal still counts as "connected".
set -euo pipefail

DATADIR=${DATADIR:-/var/lib/mysql}
CNF=
tests=()

for arg in "$@"; do
  case "$arg" in
    --connect | --innodb_initialized | --innodb_buffer_pool_loaded) tests+=("${arg#--}") ;;
    --datadir=*) DATADIR=${arg#--datadir=} ;;
    --su-mysql | --su=*) ;; # accepted for compatibility; the checks need no particular OS user
    --defaults-file=* | --defaults-extra-file=*) CNF=${arg#*=} ;;
    -h | --help)
      sed -n '2,6s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    *)
      echo "healthcheck.sh: unsupported option $arg" >&2
      exit 2
      ;;
  esac
done
[[ ${#tests[@]} -gt 0 ]] || tests=(connect)
CNF=${CNF:-$DATADIR/.my-healthcheck.cnf}

query() {
  if [[ -r $CNF ]]; then
    mariadb --defaults-extra-file="$CNF" --protocol=tcp --host=127.0.0.1 --skip-column-names --batch -e "$1"
  else
    mariadb --no-defaults --protocol=tcp --host=127.0.0.1 --user=healthcheck --skip-column-names --batch -e "$1"
  fi
}

connect() {
  local out
  if out="$(query 'SELECT 1' 2>&1)"; then
    return 0
  fi
  # No credentials file (data directory initialised elsewhere): the server answered, so it is up.
  [[ ! -r $CNF && $out == *"Access denied"* ]] && return 0
  echo "healthcheck connect failed: $out" >&2
  return 1
}

innodb_initialized() {
  [[ "$(query "SELECT 1 FROM information_schema.ENGINES WHERE engine = 'InnoDB' AND support IN ('YES', 'DEFAULT', 'ENABLED')")" == 1 ]] || {
    echo "healthcheck innodb_initialized failed" >&2
    return 1
  }
}

innodb_buffer_pool_loaded() {
  local status
  status="$(query "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'Innodb_buffer_pool_load_status'")"
  [[ $status == "Buffer pool(s) load completed"* ]] || {
    echo "healthcheck innodb_buffer_pool_loaded failed: $status" >&2
    return 1
  }
}

for t in "${tests[@]}"; do
  "$t"
done
