#!/bin/bash
# Entrypoint of onprem-mlops/mariadb: the environment contract of the official mariadb image,
# implemented for Debian's mariadb-server 10.11.
#
# On an empty data directory: mariadb-install-db, a temporary server on the socket only, root
# password for root@localhost and root@'%' (MARIADB_ROOT_HOST), passwordless root@127.0.0.1 /
# root@::1 / root@<hostname> and anonymous accounts dropped, optional database and user, then
# /docker-entrypoint-initdb.d/* once. Then execs mariadbd (as user mysql).
#
# Secrets never appear on a command line: SQL goes to the client on stdin and the client's
# password comes from a process-substitution defaults file (/dev/fd/N).
set -euo pipefail
shopt -s nullglob

log() { printf '%s [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
warn() { log "Warning: $*" >&2; }
fail() {
  log "ERROR: $*" >&2
  exit 1
}

# VAR or VAR_FILE (Docker secrets); MARIADB_* falls back to the MYSQL_* alias.
file_env() {
  local var=$1 alias=${1/#MARIADB_/MYSQL_} def=${2:-} val=
  local fvar="${var}_FILE" falias="${alias}_FILE"
  if [[ -n ${!var:-} ]]; then
    val=${!var}
  elif [[ -n ${!fvar:-} ]]; then
    val="$(<"${!fvar}")"
  elif [[ -n ${!alias:-} ]]; then
    val=${!alias}
  elif [[ -n ${!falias:-} ]]; then
    val="$(<"${!falias}")"
  else
    val=$def
  fi
  unset "$fvar" "$falias"
  export "$var"="$val"
}

# SQL string literal body: escape backslashes and single quotes.
sql_escape() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//\'/\\\'}"
}

# Option-file value inside double quotes: only backslashes (and newlines) need escaping.
opt_escape() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//$'\n'/\\n}"
}

# SQL identifier body (inside backticks).
sql_ident() { printf '%s' "${1//\`/\`\`}"; }

SOCKET=/run/mysqld/mysqld.sock

# Client options file for root, read through a process substitution (never a file on disk).
root_client_cnf() {
  printf '[client]\nuser=root\nsocket=%s\n' "$SOCKET"
  if [[ -n ${ROOT_PASSWORD_SET:-} && -n $MARIADB_ROOT_PASSWORD ]]; then
    printf 'password="%s"\n' "$(opt_escape "$MARIADB_ROOT_PASSWORD")"
  fi
}

# Run SQL from stdin as root over the socket. Extra arguments go to the client (e.g. a database).
process_sql() {
  mariadb --defaults-extra-file=<(root_client_cnf) --protocol=socket --binary-mode "$@"
}

server_datadir() {
  "$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" { print $2; exit }'
}

temp_server_start() {
  log "Starting temporary server"
  "$@" --skip-networking --socket="$SOCKET" --user=mysql --skip-log-bin \
    --innodb-buffer-pool-load-at-startup=0 &
  TEMP_PID=$!
  local i
  for i in {60..0}; do
    if mariadb-admin --no-defaults --socket="$SOCKET" --user=root --silent ping >/dev/null 2>&1 &&
      echo 'SELECT 1' | process_sql --silent >/dev/null 2>&1; then
      log "Temporary server started."
      return 0
    fi
    kill -0 "$TEMP_PID" 2>/dev/null || fail "temporary server exited during initialisation"
    sleep 0.5
    [[ $i -gt 0 ]] || fail "unable to start the temporary server"
  done
}

temp_server_stop() {
  log "Stopping temporary server"
  kill -TERM "$TEMP_PID"
  wait "$TEMP_PID" || fail "temporary server did not shut down cleanly"
  log "Temporary server stopped"
}

init_database() {
  local datadir=$1
  shift

  file_env MARIADB_ROOT_PASSWORD
  file_env MARIADB_ROOT_HOST '%'
  file_env MARIADB_DATABASE
  file_env MARIADB_USER
  file_env MARIADB_PASSWORD
  file_env MARIADB_ALLOW_EMPTY_ROOT_PASSWORD
  file_env MARIADB_RANDOM_ROOT_PASSWORD
  file_env MARIADB_INITDB_SKIP_TZINFO

  if [[ -z $MARIADB_ROOT_PASSWORD && -z $MARIADB_ALLOW_EMPTY_ROOT_PASSWORD && -z $MARIADB_RANDOM_ROOT_PASSWORD ]]; then
    fail "Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and
	MARIADB_RANDOM_ROOT_PASSWORD (or their MYSQL_* aliases)"
  fi
  if [[ -n $MARIADB_USER && $MARIADB_USER == root ]]; then
    fail "MARIADB_USER=root: the root account is configured with MARIADB_ROOT_PASSWORD"
  fi
  if [[ -n $MARIADB_USER && -z $MARIADB_PASSWORD ]]; then
    fail "MARIADB_USER is set but MARIADB_PASSWORD is not"
  fi
  if [[ -n $MARIADB_RANDOM_ROOT_PASSWORD && -z $MARIADB_ROOT_PASSWORD ]]; then
    MARIADB_ROOT_PASSWORD="$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)"
    log "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
  fi

  log "Initializing database files"
  mariadb-install-db --datadir="$datadir" --user=mysql --rpm --skip-test-db \
    --auth-root-authentication-method=normal --skip-name-resolve \
    --default-time-zone=SYSTEM --enforce-storage-engine= --skip-log-bin >/dev/null ||
    fail "mariadb-install-db failed"
  log "Database files initialized"

  temp_server_start "$@"

  if [[ -z $MARIADB_INITDB_SKIP_TZINFO ]]; then
    # sql_mode '' because tzinfo-to-sql output may trigger warnings-as-errors otherwise.
    { echo "SET @@SESSION.SQL_LOG_BIN=0;"; mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null; } |
      process_sql --database=mysql || warn "time zone tables not loaded"
  fi

  # Accounts mariadb-install-db created besides root@localhost: root@127.0.0.1, root@::1,
  # root@<hostname> (all passwordless with the 'normal' method) and anonymous ones.
  local drops
  drops="$(echo "SELECT CONCAT('DROP USER IF EXISTS ', QUOTE(User), '@', QUOTE(Host), ';') FROM mysql.global_priv
      WHERE User = '' OR (User = 'root' AND Host <> 'localhost');" | process_sql --skip-column-names)"

  local root_pw root_host hc_pw db user pw
  root_pw="$(sql_escape "$MARIADB_ROOT_PASSWORD")"
  root_host="$(sql_escape "$MARIADB_ROOT_HOST")"
  hc_pw="$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)"
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "$drops"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$root_pw';"
    if [[ $MARIADB_ROOT_HOST != localhost ]]; then
      echo "CREATE USER 'root'@'$root_host' IDENTIFIED BY '$root_pw';"
      echo "GRANT ALL ON *.* TO 'root'@'$root_host' WITH GRANT OPTION;"
    fi
    # Used by healthcheck.sh (credentials in the datadir, readable only by mysql/root).
    echo "CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY '$hc_pw';"
    echo "CREATE USER 'healthcheck'@'::1' IDENTIFIED BY '$hc_pw';"
    echo "CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY '$hc_pw';"
    if [[ -n $MARIADB_DATABASE ]]; then
      db="$(sql_ident "$MARIADB_DATABASE")"
      echo "CREATE DATABASE IF NOT EXISTS \`$db\`;"
    fi
    if [[ -n $MARIADB_USER ]]; then
      user="$(sql_escape "$MARIADB_USER")"
      pw="$(sql_escape "$MARIADB_PASSWORD")"
      echo "CREATE USER '$user'@'%' IDENTIFIED BY '$pw';"
      if [[ -n $MARIADB_DATABASE ]]; then
        # Escape the LIKE wildcard '_' so the grant covers exactly this database.
        echo "GRANT ALL ON \`${db//_/\\_}\`.* TO '$user'@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | process_sql || fail "setting up accounts failed"
  ROOT_PASSWORD_SET=1

  umask 077
  printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$SOCKET" "$hc_pw" \
    >"$datadir/.my-healthcheck.cnf"
  chown mysql:mysql "$datadir/.my-healthcheck.cnf"
  umask 022

  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        if [[ -x $f ]]; then
          log "$0: running $f"
          "$f"
        else
          log "$0: sourcing $f"
          # shellcheck disable=SC1090
          . "$f"
        fi
        ;;
      *.sql)
        log "$0: running $f"
        process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} <"$f"
        ;;
      *.sql.gz)
        log "$0: running $f"
        gunzip -c "$f" | process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"}
        ;;
      *.sql.xz)
        log "$0: running $f"
        xzcat "$f" | process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"}
        ;;
      *.sql.zst)
        log "$0: running $f"
        zstd -dc "$f" | process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"}
        ;;
      *) log "$0: ignoring $f" ;;
    esac
  done

  temp_server_stop
  log "MariaDB init process done. Ready for start up."
}

main() {
  # `docker run IMAGE --some-option` means options for mariadbd.
  if [[ ${1:-} == -* ]]; then
    set -- mariadbd "$@"
  fi
  if [[ ${1:-} != mariadbd && ${1:-} != mysqld ]]; then
    exec "$@"
  fi

  local datadir
  datadir="$(server_datadir "$@")"
  [[ -n $datadir ]] || fail "cannot determine the data directory from: $* --verbose --help"

  if [[ $(id -u) -eq 0 ]]; then
    mkdir -p "$datadir" /run/mysqld
    find "$datadir" /run/mysqld \! -user mysql -exec chown mysql:mysql '{}' +
  fi

  if [[ ! -d $datadir/mysql ]]; then
    [[ $(id -u) -eq 0 ]] || fail "initialising a data directory needs the container to start as root"
    init_database "$datadir" "$@"
  else
    log "Database already initialized: skipping initialisation"
  fi

  unset MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD MARIADB_PASSWORD MYSQL_PASSWORD
  log "Starting $1"
  if [[ $(id -u) -eq 0 ]]; then
    exec "$@" --user=mysql
  fi
  exec "$@"
}

main "$@"
