"""An in-memory MySQL 8.4 or MariaDB server behind PyMySQL's ``connect``, shared by the database unit tests.

It understands exactly the statements the database modules send (anything else fails the test), checks
that each statement survives PyMySQL's ``sql % args`` formatting, answers ``SHOW GRANTS`` in the format of
the dialect it plays (MySQL 8.4 spells ALL on ``*.*`` as two lists of static and dynamic privileges,
MariaDB says ALL PRIVILEGES and appends IDENTIFIED BY PASSWORD), refuses what the real server refuses
(MariaDB knows no caching_sha2_password nor information_schema_stats_expiry, REVOKE of a grant that does
not exist fails with 1141), records every write in ``writes`` and every statement in ``log``. No tests live here.
"""

import json
import re
from dataclasses import dataclass, field

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.onprem.mlops.plugins.module_utils import database
from pymysql.converters import escape_item
from pymysql.err import OperationalError, ProgrammingError

MYSQL_STATIC = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, SHUTDOWN, PROCESS, FILE, REFERENCES, INDEX, ALTER, "
    "SHOW DATABASES, SUPER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, REPLICATION CLIENT, "
    "CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, CREATE TABLESPACE, "
    "CREATE ROLE, DROP ROLE"
)
MYSQL_DYNAMIC = (
    "ALLOW_NONEXISTENT_DEFINER,APPLICATION_PASSWORD_ADMIN,AUDIT_ABORT_EXEMPT,AUDIT_ADMIN,"
    "AUTHENTICATION_POLICY_ADMIN,BACKUP_ADMIN,BINLOG_ADMIN,BINLOG_ENCRYPTION_ADMIN,CLONE_ADMIN,CONNECTION_ADMIN,"
    "ENCRYPTION_KEY_ADMIN,FIREWALL_EXEMPT,FLUSH_OPTIMIZER_COSTS,FLUSH_PRIVILEGES,FLUSH_STATUS,FLUSH_TABLES,"
    "FLUSH_USER_RESOURCES,GROUP_REPLICATION_ADMIN,GROUP_REPLICATION_STREAM,INNODB_REDO_LOG_ARCHIVE,"
    "INNODB_REDO_LOG_ENABLE,OPTIMIZE_LOCAL_TABLE,PASSWORDLESS_USER_ADMIN,PERSIST_RO_VARIABLES_ADMIN,"
    "REPLICATION_APPLIER,REPLICATION_SLAVE_ADMIN,RESOURCE_GROUP_ADMIN,RESOURCE_GROUP_USER,ROLE_ADMIN,"
    "SENSITIVE_VARIABLES_OBSERVER,SERVICE_CONNECTION_ADMIN,SESSION_VARIABLES_ADMIN,SET_ANY_DEFINER,SHOW_ROUTINE,"
    "SYSTEM_USER,SYSTEM_VARIABLES_ADMIN,TABLE_ENCRYPTION_ADMIN,TELEMETRY_LOG_ADMIN,TRANSACTION_GTID_TAG,"
    "XA_RECOVER_ADMIN"
)
MYSQL_ALL = frozenset(MYSQL_STATIC.split(", ")) | frozenset(MYSQL_DYNAMIC.split(","))
VERSIONS = {"mysql": "8.4.3", "mariadb": "10.11.19-MariaDB-0+deb12u1"}
ROOT_PASSWORD = "root-password"
LOGIN = {"login_host": "127.0.0.1", "login_port": 3306, "login_user": "root", "login_password": ROOT_PASSWORD}
IDENTIFIER = r"`((?:[^`]|``)+)`"
LEVEL = r"(\*\.\*|" + IDENTIFIER + r"\.\*)"


@dataclass
class Account:
    password: str
    plugin: str
    global_privileges: set = field(default_factory=set)
    global_grant_option: bool = False
    schemas: dict = field(default_factory=dict)
    extra_lines: list = field(default_factory=list)
    max_connections: int = 0
    ssl_type: str = ""


def unquote(identifier: str) -> str:
    return identifier.replace("``", "`").replace("%%", "%")


class FakeServer:
    """The server's state: accounts by (user, host), schemas with their charset, registry rows, table usage."""

    def __init__(self, dialect: str = "mariadb", registry: str = "stack_management") -> None:
        self.dialect = dialect
        self.accounts: dict[tuple[str, str], Account] = {}
        self.schemas: dict[str, str] = {registry: "utf8mb4", "zenml": "utf8mb4"}
        self.registries: dict[str, dict[str, str]] = {registry: {}}
        self.usage: dict[str, tuple[int, int]] = {}
        self.ssl_cipher = ""
        self.binary_results = False
        self.writes: list[str] = []
        self.queries: list[str] = []
        self.log: list[str] = []
        self.connects: list[dict] = []
        self.fail_on: dict[str, Exception] = {}
        self.login_lines = self._root_lines()

    def _root_lines(self) -> list[str]:
        if self.dialect == "mysql":
            return [
                f"GRANT {MYSQL_STATIC} ON *.* TO `root`@`%` WITH GRANT OPTION",
                f"GRANT {MYSQL_DYNAMIC} ON *.* TO `root`@`%` WITH GRANT OPTION",
                "GRANT PROXY ON ``@`` TO `root`@`%` WITH GRANT OPTION",
            ]
        return [
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`%` IDENTIFIED BY PASSWORD '*496949DB2292E3FBC292711C48F9BA100A"
            "91227E' WITH GRANT OPTION",
            "GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION",
        ]

    # PyMySQL's boundary

    def connect(self, user: str, password: str, **options: object) -> "FakeConnection":
        self.connects.append({"user": user, **{k: v for k, v in options.items() if k != "ssl"}})
        if user == LOGIN["login_user"] and password == ROOT_PASSWORD:
            return FakeConnection(self)
        account = self.accounts.get((user, "%"))
        if account is None or account.password != password:
            raise OperationalError(1045, f"Access denied for user '{user}'@'172.17.0.1' (using password: YES)")
        return FakeConnection(self)

    def execute(self, sql: str, args: tuple) -> list[tuple]:
        formatted = sql % tuple(escape_item(arg, "utf8mb4") for arg in args)
        self.log.append(formatted)
        for pattern, exc in self.fail_on.items():
            if re.search(pattern, formatted):
                raise exc
        for regex, handler in self._handlers():
            match = re.fullmatch(regex, sql)
            if match:
                rows = handler(match, args, formatted) or []
                return [self._binary(row) for row in rows] if self.binary_results else rows
        raise AssertionError(f"the fake server does not know this statement: {sql}")

    @staticmethod
    def _binary(row: tuple) -> tuple:
        return tuple(value.encode() if isinstance(value, str) else value for value in row)

    # State helpers for tests

    def add_account(
        self,
        user: str,
        password: str,
        *,
        admin: bool = False,
        schema_pattern: str | None = None,
        privileges: set | None = None,
    ) -> None:
        account = Account(password, "caching_sha2_password" if self.dialect == "mysql" else "mysql_native_password")
        if admin:
            account.global_privileges = self._all_global()
        if schema_pattern:
            account.schemas[schema_pattern] = (set(privileges or {"ALL PRIVILEGES"}), False)
        self.accounts[(user, "%")] = account

    def grants_of(self, user: str) -> list[str]:
        return self._show_grants(self.accounts[(user, "%")], user, "%")

    def registry(self, schema: str = "stack_management") -> dict[str, str]:
        return self.registries[schema]

    # Statements

    def _handlers(self) -> list:
        registry = IDENTIFIER + r"\.`users`"
        return [
            (r"SELECT VERSION\(\)", lambda m, a, f: [(VERSIONS[self.dialect],)]),
            (r"SHOW SESSION STATUS LIKE 'Ssl_cipher'", lambda m, a, f: [("Ssl_cipher", self.ssl_cipher)]),
            (r"SHOW GRANTS", lambda m, a, f: [(line,) for line in self.login_lines]),
            (
                r"SELECT User, max_user_connections, ssl_type FROM mysql\.user WHERE Host = %s AND User IN "
                r"\((?:%s, )*%s\)",
                self._select_accounts,
            ),
            (r"ALTER USER %s@%s WITH MAX_USER_CONNECTIONS (\d+)", self._limit_connections),
            (r"ALTER USER %s@%s REQUIRE (SSL|NONE)", self._require_transport),
            (
                r"SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema\.SCHEMATA "
                r"WHERE SCHEMA_NAME IN \((?:%s, )*%s\)",
                self._select_schemas,
            ),
            (r"SELECT username, role FROM " + registry + r" WHERE username IN \((?:%s, )*%s\)", self._select_rows),
            (r"SHOW GRANTS FOR %s@%s", self._select_grants),
            (r"SET SESSION information_schema_stats_expiry = 0", self._set_stats_expiry),
            (
                r"SELECT TABLE_SCHEMA, COUNT\(\*\), COALESCE\(SUM\(DATA_LENGTH \+ INDEX_LENGTH\), 0\) "
                r"FROM information_schema\.TABLES WHERE TABLE_SCHEMA IN \((?:%s, )*%s\) "
                r"AND TABLE_TYPE IN \('BASE TABLE', 'SYSTEM VERSIONED'\) GROUP BY TABLE_SCHEMA",
                self._select_usage,
            ),
            (r"(CREATE|ALTER) USER %s@%s IDENTIFIED (WITH (\w+) )?BY %s", self._write_user),
            (r"DROP USER %s@%s", self._drop_user),
            (r"(CREATE|ALTER) DATABASE " + IDENTIFIER + r" CHARACTER SET (\w+)", self._write_schema),
            (r"DROP DATABASE " + IDENTIFIER, self._drop_schema),
            (r"GRANT ([A-Z ,]+) ON " + LEVEL + r" TO %s@%s", self._grant),
            (r"REVOKE (ALL PRIVILEGES|GRANT OPTION) ON " + LEVEL + r" FROM %s@%s", self._revoke),
            (r"REVOKE ([A-Z ,]+) ON " + LEVEL + r" FROM %s@%s", self._revoke_some),
            (r"INSERT INTO " + registry + r" \(username, role\) VALUES \(%s, %s\)", self._insert_row),
            (r"UPDATE " + registry + r" SET role = %s WHERE username = %s", self._update_row),
            (r"DELETE FROM " + registry + r" WHERE username = %s", self._delete_row),
        ]

    def _select_accounts(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        self.queries.append(formatted)
        host, names = args[0], args[1:]
        return [
            (name, self.accounts[(name, host)].max_connections, self.accounts[(name, host)].ssl_type)
            for name in names
            if (name, host) in self.accounts
        ]

    def _require_transport(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        self.accounts[tuple(args)].ssl_type = "ANY" if match.group(1) == "SSL" else ""

    def _limit_connections(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        self.accounts[tuple(args)].max_connections = int(match.group(1))

    def _select_schemas(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        self.queries.append(formatted)
        return [(name, self.schemas[name]) for name in args if name in self.schemas]

    def _registry_table(self, match: re.Match) -> dict[str, str]:
        schema = unquote(match.group(1))
        if schema not in self.registries:
            raise ProgrammingError(1146, f"Table '{schema}.users' doesn't exist")
        return self.registries[schema]

    def _select_rows(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        self.queries.append(formatted)
        rows = self._registry_table(match)
        return [(name, rows[name]) for name in args if name in rows]

    def _select_grants(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        self.queries.append(formatted)
        if tuple(args) not in self.accounts:
            raise OperationalError(1141, f"There is no such grant defined for user '{args[0]}' on host '{args[1]}'")
        return [(line,) for line in self._show_grants(self.accounts[tuple(args)], *args)]

    def _set_stats_expiry(self, match: re.Match, args: tuple, formatted: str) -> None:
        if self.dialect != "mysql":
            raise OperationalError(1193, "Unknown system variable 'information_schema_stats_expiry'")

    def _select_usage(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        return [(schema, *self.usage[schema]) for schema in args if schema in self.usage]

    def _write_user(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        verb, plugin = match.group(1), match.group(3)
        if plugin and self.dialect == "mariadb":
            raise OperationalError(1524, f"Plugin '{plugin}' is not loaded")
        key, password = tuple(args[:2]), args[2]
        plugin = plugin or ("caching_sha2_password" if self.dialect == "mysql" else "mysql_native_password")
        if verb == "CREATE":
            if key in self.accounts:
                raise OperationalError(1396, f"Operation CREATE USER failed for '{key[0]}'@'{key[1]}'")
            self.accounts[key] = Account(password, plugin)
        else:
            self.accounts[key].password, self.accounts[key].plugin = password, plugin

    def _drop_user(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        if tuple(args) not in self.accounts:
            raise OperationalError(1396, f"Operation DROP USER failed for '{args[0]}'@'{args[1]}'")
        del self.accounts[tuple(args)]

    def _write_schema(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        name = unquote(match.group(2))
        if match.group(1) == "CREATE" and name in self.schemas:
            raise ProgrammingError(1007, f"Can't create database '{name}'; database exists")
        self.schemas[name] = match.group(3)

    def _drop_schema(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        del self.schemas[unquote(match.group(1))]
        self.usage.pop(unquote(match.group(1)), None)

    def _grant(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        account = self.accounts[tuple(args)]
        privileges = set(match.group(1).split(", "))
        if match.group(2) == "*.*":
            account.global_privileges = self._all_global() if privileges == {"ALL PRIVILEGES"} else privileges
        else:
            pattern = unquote(match.group(3))
            held, grant_option = account.schemas.get(pattern, (set(), False))
            account.schemas[pattern] = (held | privileges, grant_option)

    def _revoke_some(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        account = self.accounts[tuple(args)]
        pattern = unquote(match.group(3))
        held, grant_option = account.schemas[pattern]
        account.schemas[pattern] = (held - set(match.group(1).split(", ")), grant_option)

    def _revoke(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        account = self.accounts[tuple(args)]
        what, level = match.group(1), match.group(2)
        if level == "*.*":
            if what == "GRANT OPTION":
                account.global_grant_option = False
            else:
                account.global_privileges = set()
            return
        pattern = unquote(match.group(3))
        if pattern not in account.schemas:
            raise OperationalError(1141, f"There is no such grant defined for user '{args[0]}' on host '{args[1]}'")
        privileges, grant_option = account.schemas[pattern]
        privileges, grant_option = (privileges, False) if what == "GRANT OPTION" else (set(), grant_option)
        account.schemas[pattern] = (privileges, grant_option)
        if not privileges and not grant_option:
            del account.schemas[pattern]

    def _insert_row(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        rows = self._registry_table(match)
        if args[0] in rows:
            raise OperationalError(1062, f"Duplicate entry '{args[0]}' for key 'PRIMARY'")
        rows[args[0]] = args[1]

    def _update_row(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        self._registry_table(match)[args[1]] = args[0]

    def _delete_row(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.writes.append(formatted)
        del self._registry_table(match)[args[0]]

    # SHOW GRANTS as each dialect prints it

    def _all_global(self) -> set:
        return set(MYSQL_ALL) if self.dialect == "mysql" else {"ALL PRIVILEGES"}

    def _show_grants(self, account: Account, user: str, host: str) -> list[str]:
        grantee = f"`{user}`@`{host}`"
        option = " WITH GRANT OPTION" if account.global_grant_option else ""
        lines = self._global_lines(account.global_privileges, grantee, option)
        for pattern, (privileges, grant_option) in account.schemas.items():
            text = ", ".join(sorted(privileges)) or "USAGE"
            lines.append(f"GRANT {text} ON `{pattern}`.* TO {grantee}" + (" WITH GRANT OPTION" if grant_option else ""))
        return lines + [line.format(grantee=grantee) for line in account.extra_lines]

    def _global_lines(self, privileges: set, grantee: str, option: str) -> list[str]:
        if self.dialect == "mariadb":
            text = ", ".join(sorted(privileges)) or "USAGE"
            return [f"GRANT {text} ON *.* TO {grantee} IDENTIFIED BY PASSWORD '*6891F9D51EB5A38D1BB31'{option}"]
        if not privileges:
            return [f"GRANT USAGE ON *.* TO {grantee}{option}"]
        static = [name for name in MYSQL_STATIC.split(", ") if name in privileges]
        dynamic = sorted(privileges - set(static))
        lines = [f"GRANT {', '.join(static)} ON *.* TO {grantee}{option}"] if static else []
        return lines + ([f"GRANT {','.join(dynamic)} ON *.* TO {grantee}{option}"] if dynamic else [])


class FakeCursor:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self._rows: list[tuple] = []

    def __enter__(self) -> "FakeCursor":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, args: tuple = ()) -> int:
        assert isinstance(args, tuple), "parameters go to PyMySQL as a tuple"
        self._rows = self.server.execute(sql, args)
        return len(self._rows)

    def fetchall(self) -> tuple:
        return tuple(self._rows)


class FakeConnection:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.closed = False

    def cursor(self) -> FakeCursor:
        assert not self.closed, "statement on a closed connection"
        return FakeCursor(self.server)

    def close(self) -> None:
        self.closed = True


def run_module(module: object, args: dict, server: FakeServer, monkeypatch: object, capsys: object) -> dict:
    """Run a module's main() against the fake server (through PyMySQL's connect) and return its result."""
    monkeypatch.setattr(database.pymysql, "connect", server.connect)
    with patch_module_args({**LOGIN, **args}), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)
