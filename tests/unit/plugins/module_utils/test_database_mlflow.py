"""Unit tests of MLflow schemas in database_tenant: the template, copies of it, and what to migrate.

The fake server of test_database_fakes learns, here, the statements the MLflow code sends: tables, triggers,
views and rows per schema, and each connection's current schema and session variables.
"""

import re
import threading

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils import _database_mlflow as mlflow
from ansible_collections.onprem.mlops.plugins.module_utils import database
from ansible_collections.onprem.mlops.plugins.module_utils.database import DatabaseModuleError
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_database_fakes import (
    IDENTIFIER,
    LOGIN,
    FakeConnection,
    FakeCursor,
    FakeServer,
    unquote,
)
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_database_tenant_logic import converge, run
from pymysql.converters import escape_item
from pymysql.err import OperationalError

DIALECTS = pytest.mark.parametrize("dialect", ["mysql", "mariadb"])
HEAD = "dc11669786a5"
OLD = "1b5f0d9ad7c1"
TEMPLATE = "mlflow_template"
ALICE = {"name": "alice", "role": "developer", "password": "alice-pw"}
BOB = {"name": "bob", "role": "developer", "password": "bob-pw"}
SQL_MODE = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
# What MLflow's migrations leave, in miniature: tables with a foreign key and a CHECK holding a %,
# a trigger, a view, and seeded rows.
TABLES = {
    "alembic_version": "CREATE TABLE `alembic_version` (\n  `version_num` varchar(32) NOT NULL\n)",
    "experiments": "CREATE TABLE `experiments` (\n  `experiment_id` int(11) NOT NULL AUTO_INCREMENT,\n"
    "  `name` varchar(256) NOT NULL,\n  CONSTRAINT `no_slash` CHECK (`name` not like '%/%')\n)",
    "runs": "CREATE TABLE `runs` (\n  `run_uuid` varchar(32) NOT NULL,\n  `experiment_id` int(11),\n"
    "  CONSTRAINT `runs_ibfk_1` FOREIGN KEY (`experiment_id`) REFERENCES `experiments` (`experiment_id`)\n)",
    "secrets": "CREATE TABLE `secrets` (\n  `secret_id` varchar(36) NOT NULL\n)",
    "workspaces": "CREATE TABLE `workspaces` (\n  `name` varchar(63) NOT NULL\n)",
}
TRIGGER = (
    "CREATE DEFINER=`root`@`%` TRIGGER prevent_secrets_aad_mutation\nBEFORE UPDATE ON secrets\nFOR EACH ROW\n"
    "BEGIN\n  IF OLD.secret_id != NEW.secret_id THEN\n    SIGNAL SQLSTATE '45000';\n  END IF;\nEND"
)


def view_sql(schema: str) -> str:
    return (
        f"CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `run_names` AS "
        f"select `{schema}`.`runs`.`run_uuid` AS `run_uuid` from `{schema}`.`runs`"
    )


DEFINER = re.compile(r"^CREATE DEFINER ?= ?(`[^`]*`|'[^']*')@(`[^`]*`|'[^']*') ")


def _no_definer(create: str) -> str:
    return DEFINER.sub("CREATE ", create)


def definer_of(create: str) -> str:
    match = DEFINER.match(create)
    assert match, create
    return f"{match[1][1:-1]}@{match[2][1:-1]}"


class MlflowServer(FakeServer):
    """The fake server with schema contents, MLflow's statements and per-connection state."""

    def __init__(self, dialect: str = "mariadb") -> None:
        super().__init__(dialect)
        self.tables: dict[str, dict[str, str]] = {}
        self.rows: dict[tuple[str, str], list[tuple]] = {}
        self.triggers: dict[str, dict[str, tuple[str, str, str, str]]] = {}
        self.views: dict[str, dict[str, str]] = {}
        self.lock = threading.RLock()
        self.connection: MlflowConnection | None = None
        self.registries["stack_management"] = {}

    # State helpers for tests

    def migrated(self, schema: str, revision: str = HEAD, views: bool = True, definer: str = "`root`@`%`") -> None:
        """``schema`` as MLflow's migrations leave it, run by ``definer``."""
        self.schemas[schema] = "utf8mb4"
        self.tables[schema] = dict(TABLES)
        trigger = TRIGGER.replace("`root`@`%`", definer)
        self.triggers[schema] = {"prevent_secrets_aad_mutation": (trigger, SQL_MODE, "utf8mb4", "utf8mb4_general_ci")}
        self.views[schema] = {"run_names": view_sql(schema)} if views else {}
        self.rows[(schema, "alembic_version")] = [(revision,)]
        self.rows[(schema, "workspaces")] = [("default",)]

    def register(self, name: str, revision: str | None = HEAD, role: str = "developer") -> None:
        self.registries["stack_management"][name] = role
        self.add_account(name, f"{name}-pw", schema_pattern=f"mlflow\\_{name}")
        if revision:
            self.migrated(f"mlflow_{name}", revision)
        else:
            self.schemas[f"mlflow_{name}"] = "utf8mb4"

    def contents(self, schema: str) -> dict:
        """What a comparison of two schemas looks at: definitions (own schema name masked) and rows."""
        return {
            "tables": self.tables.get(schema, {}),
            "triggers": {
                name: (_no_definer(create), *rest) for name, (create, *rest) in self.triggers.get(schema, {}).items()
            },
            "views": {name: sql.replace(f"`{schema}`.", "`S`.") for name, sql in self.views.get(schema, {}).items()},
            "rows": {table: rows for (owner, table), rows in self.rows.items() if owner == schema and rows},
        }

    # PyMySQL's boundary, with per-connection state

    def connect(self, user: str, password: str, **options: object) -> "MlflowConnection":
        super().connect(user, password, **options)
        return MlflowConnection(self)

    def _handlers(self) -> list:
        schema_table = IDENTIFIER + r"\." + IDENTIFIER
        names = r"\((?:%s, )*%s\)"
        return [
            *super()._handlers(),
            (r"SELECT SCHEMA_NAME FROM information_schema\.SCHEMATA WHERE SCHEMA_NAME IN " + names, self._schemata),
            (
                r"SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema\.TABLES WHERE TABLE_SCHEMA IN "
                + names,
                self._table_list,
            ),
            (r"SELECT username FROM " + IDENTIFIER + r"\.`users`", self._usernames),
            (r"SELECT %s, version_num FROM .*", self._revisions),
            (r"SELECT %s, COUNT\(\*\) FROM .*", self._counts),
            (r"SELECT (EXISTS\(SELECT 1 FROM " + schema_table + r"\)(?: OR )?)+", self._exists),
            (r"SHOW CREATE TABLE " + schema_table, self._show_table),
            (
                r"SELECT TRIGGER_NAME FROM information_schema\.TRIGGERS WHERE TRIGGER_SCHEMA = %s "
                r"ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER",
                lambda m, a, f: [(name,) for name in self.triggers.get(a[0], {})],
            ),
            (r"SHOW CREATE TRIGGER " + schema_table, self._show_trigger),
            (r"SHOW CREATE VIEW " + schema_table, self._show_view),
            (r"USE " + IDENTIFIER, self._use),
            (r"SET SESSION FOREIGN_KEY_CHECKS = 0", self._session_set),
            (
                r"SET SESSION sql_mode = %s, character_set_client = %s, collation_connection = %s",
                self._session_set,
            ),
            (r"SET SESSION character_set_client = %s, collation_connection = %s", self._session_set),
            (r"DROP (?:TABLE|VIEW) (.*)", self._drop_tables),
            (r"CREATE TABLE " + IDENTIFIER + r" \(.*", self._create_table),
            (r"CREATE DEFINER ?= ?\S+ TRIGGER (\w+)\n.*", self._create_trigger),
            (r"DROP TRIGGER IF EXISTS " + IDENTIFIER, self._drop_trigger),
            (
                r"SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE, DEFINER FROM information_schema\.TRIGGERS "
                r"WHERE TRIGGER_SCHEMA IN " + names,
                self._trigger_list,
            ),
            (r"GRANT TRIGGER ON " + schema_table + r" TO %s@%s", self._grant_trigger),
            (r"CREATE ALGORITHM=\S+ DEFINER=\S+ SQL SECURITY DEFINER VIEW " + IDENTIFIER + " .*", self._create_view),
            (r"INSERT INTO " + schema_table + r" SELECT \* FROM " + schema_table, self._insert_select),
        ]

    def execute(self, sql: str, args: tuple) -> list[tuple]:
        # The handlers match whole statements, and the DDL the server prints spans lines.
        with self.lock:
            formatted = sql % tuple(escape_item(arg, "utf8mb4") for arg in args)
            self.log.append(formatted)
            for pattern, exc in self.fail_on.items():
                if re.search(pattern, formatted):
                    raise exc
            for regex, handler in self._handlers():
                match = re.fullmatch(regex, sql, re.DOTALL)
                if match:
                    return handler(match, args, formatted) or []
            raise AssertionError(f"the fake server does not know this statement: {sql}")

    @property
    def current(self) -> str:
        assert self.connection is not None and self.connection.database, "no schema selected (USE)"
        return self.connection.database

    def _write(self, formatted: str) -> None:
        self.writes.append(formatted)

    def _schemata(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        return [(name,) for name in args if name in self.schemas]

    def _table_list(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        rows = [(schema, name, "BASE TABLE") for schema in args for name in self.tables.get(schema, {})]
        return rows + [(schema, name, "VIEW") for schema in args for name in self.views.get(schema, {})]

    def _usernames(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        return [(name,) for name in self._registry_table(match)]

    def _revisions(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        schemas = [unquote(name) for name in re.findall(r"FROM " + IDENTIFIER + r"\.`alembic_version`", match[0])]
        assert schemas == list(args)
        return [(schema, row[0]) for schema in schemas for row in self.rows.get((schema, "alembic_version"), [])]

    def _counts(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        pairs = [(unquote(s), unquote(t)) for s, t in re.findall(r"FROM " + IDENTIFIER + r"\." + IDENTIFIER, match[0])]
        assert [table for _, table in pairs] == list(args)
        return [(table, len(self.rows.get((schema, table), []))) for schema, table in pairs]

    def _exists(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        pairs = re.findall(r"FROM " + IDENTIFIER + r"\." + IDENTIFIER, match[0])
        return [(int(any(self.rows.get((unquote(s), unquote(t))) for s, t in pairs)),)]

    def _show_table(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        table = unquote(match[2])
        return [(table, self.tables[unquote(match[1])][table])]

    def _show_trigger(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        create, mode, client, collation = self.triggers[unquote(match[1])][unquote(match[2])]
        return [(unquote(match[2]), mode, create, client, collation, "utf8mb4_general_ci", None)]

    def _show_view(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        return [(unquote(match[2]), self.views[unquote(match[1])][unquote(match[2])], "utf8mb4", "utf8mb4_general_ci")]

    def _use(self, match: re.Match, args: tuple, formatted: str) -> None:
        name = unquote(match[1])
        if name not in self.schemas:
            raise OperationalError(1049, f"Unknown database '{name}'")
        self.connection.database = name

    def _session_set(self, match: re.Match, args: tuple, formatted: str) -> None:
        self.connection.variables.append(formatted)

    def _drop_tables(self, match: re.Match, args: tuple, formatted: str) -> None:
        self._write(formatted)
        for name in re.findall(IDENTIFIER, match[1]):
            for kind in (self.tables, self.views, self.triggers):
                kind.get(self.current, {}).pop(unquote(name), None)

    def _create_table(self, match: re.Match, args: tuple, formatted: str) -> None:
        self._write(formatted)
        assert "%" not in formatted or "%/%" in formatted, "a % was lost to PyMySQL's formatting"
        tables = self.tables.setdefault(self.current, {})
        name = unquote(match[1])
        if name in tables:
            raise OperationalError(1050, f"Table '{name}' already exists")
        tables[name] = formatted

    def _create_trigger(self, match: re.Match, args: tuple, formatted: str) -> None:
        self._write(formatted)
        mode = self.connection.variables[-1]
        assert SQL_MODE in mode, "a trigger is created under its own sql_mode"
        self.triggers.setdefault(self.current, {})[match[1]] = (formatted, SQL_MODE, "utf8mb4", "utf8mb4_general_ci")

    def _drop_trigger(self, match: re.Match, args: tuple, formatted: str) -> None:
        self._write(formatted)
        self.triggers.get(self.current, {}).pop(unquote(match[1]), None)

    def _trigger_list(self, match: re.Match, args: tuple, formatted: str) -> list[tuple]:
        return [
            (schema, name, re.search(r"ON (\w+)", create)[1], definer_of(create))
            for schema in args
            for name, (create, *_rest) in self.triggers.get(schema, {}).items()
        ]

    def _grant_trigger(self, match: re.Match, args: tuple, formatted: str) -> None:
        self._write(formatted)
        table = unquote(match[2])
        assert table in self.tables.get(unquote(match[1]), {}), "GRANT on a table that does not exist"
        line = f"GRANT TRIGGER ON `{unquote(match[1])}`.`{table}` TO {{grantee}}"
        self.accounts[tuple(args)].extra_lines.append(line)

    def _create_view(self, match: re.Match, args: tuple, formatted: str) -> None:
        self._write(formatted)
        self.views.setdefault(self.current, {})[unquote(match[1])] = formatted

    def _insert_select(self, match: re.Match, args: tuple, formatted: str) -> None:
        self._write(formatted)
        target, source = (unquote(match[1]), unquote(match[2])), (unquote(match[3]), unquote(match[4]))
        self.rows[target] = self.rows.get(target, []) + list(self.rows.get(source, []))

    def _drop_schema(self, match: re.Match, args: tuple, formatted: str) -> None:
        super()._drop_schema(match, args, formatted)
        schema = unquote(match[1])
        for kind in (self.tables, self.triggers, self.views):
            kind.pop(schema, None)
        for key in [key for key in self.rows if key[0] == schema]:
            del self.rows[key]


class MlflowCursor(FakeCursor):
    def __init__(self, connection: "MlflowConnection") -> None:
        super().__init__(connection.server)
        self.connection = connection

    def execute(self, sql: str, args: tuple = ()) -> int:
        assert isinstance(args, tuple), "parameters go to PyMySQL as a tuple"
        with self.server.lock:
            self.server.connection = self.connection
            self._rows = self.server.execute(sql, args)
        return len(self._rows)


class MlflowConnection(FakeConnection):
    def __init__(self, server: MlflowServer) -> None:
        super().__init__(server)
        self.database: str | None = None
        self.variables: list[str] = []

    def cursor(self) -> MlflowCursor:
        assert not self.closed, "statement on a closed connection"
        return MlflowCursor(self)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> MlflowServer:
    fake = MlflowServer(getattr(request, "param", "mariadb"))
    # The copies run on connections of their own, opened with PyMySQL's connect.
    monkeypatch.setattr(database.pymysql, "connect", fake.connect)
    return fake


def params(users: list[dict], **overrides: object) -> dict:
    return {
        **LOGIN,
        "connect_timeout": 30,
        "users": users,
        "state": "present",
        "update_password": "on_create",
        "schema_prefix": "mlflow_",
        "registry_schema": "stack_management",
        "account_host": "%",
        "usage": False,
        "schema_template": TEMPLATE,
        "schema_revision": None,
        **overrides,
    }


@pytest.mark.parametrize("server", ["mysql", "mariadb"], indirect=True)
def test_new_schemas_are_copies_of_the_template(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    runs = converge(server, params([ALICE, BOB]))
    for name in ("mlflow_alice", "mlflow_bob"):
        assert server.contents(name) == server.contents(TEMPLATE)
    assert [user["schema_copied"] for user in runs["apply"]["users"]] == [True, True]
    assert [user["schema_revision"] for user in runs["again"]["users"]] == [HEAD, HEAD]
    assert [user["schema_copied"] for user in runs["again"]["users"]] == [False, False]
    assert runs["apply"]["diff"]["after"]["users"]["alice"]["revision"] == HEAD
    assert "revision" not in runs["apply"]["diff"]["before"]["users"]["alice"]
    assert "template" not in runs["apply"] and "schemas_to_migrate" not in runs["apply"]


def test_a_copy_writes_its_revision_last_and_keeps_what_the_server_printed(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    run(server, params([ALICE]))
    copy = [
        line
        for line in server.writes
        if ("TABLE" in line or "TRIGGER" in line or "INSERT" in line) and not line.startswith("GRANT")
    ]
    assert copy[-1] == "INSERT INTO `mlflow_alice`.`alembic_version` SELECT * FROM `mlflow_template`.`alembic_version`"
    assert any("CHECK (`name` not like '%/%')" in line for line in copy)
    assert server.views["mlflow_alice"]["run_names"] == view_sql("mlflow_alice")
    assert server.rows[("mlflow_alice", "workspaces")] == [("default",)]


def test_copied_triggers_are_the_owners_and_fire_with_trigger_on_their_table_only(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    converge(server, params([ALICE]))
    create = server.triggers["mlflow_alice"]["prevent_secrets_aad_mutation"][0]
    assert definer_of(create) == "alice@%"
    assert server.grants_of("alice")[-1] == "GRANT TRIGGER ON `mlflow_alice`.`secrets` TO `alice`@`%`"


def test_a_trigger_an_earlier_version_copied_as_root_is_made_again_as_the_owners(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    server.register("alice")
    rows = dict(server.rows)
    runs = converge(server, params([ALICE]))
    assert runs["apply"]["users"][0]["schema_copied"]
    assert definer_of(server.triggers["mlflow_alice"]["prevent_secrets_aad_mutation"][0]) == "alice@%"
    assert [line.split(" ", 2)[:2] for line in server.writes if "TRIGGER" in line] == [
        ["DROP", "TRIGGER"],
        ["CREATE", "DEFINER"],
        ["GRANT", "TRIGGER"],
    ]
    assert server.rows == rows
    assert set(server.tables["mlflow_alice"]) == set(TABLES)


def test_copies_run_on_a_few_connections_of_their_own(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    users = [{"name": f"user{index}", "role": "developer", "password": f"pw{index}"} for index in range(5)]
    run(server, params(users))
    # The main connection, then one per worker.
    assert len(server.connects) == 1 + mlflow.COPY_WORKERS
    assert all(server.contents(f"mlflow_user{index}") == server.contents(TEMPLATE) for index in range(5))


def test_a_template_without_mlflow_tables_fails_before_any_write(server: MlflowServer) -> None:
    server.schemas[TEMPLATE] = "utf8mb4"
    with pytest.raises(DatabaseModuleError, match="holds no MLflow schema yet"):
        run(server, params([ALICE]))
    assert server.writes == []
    check = run(server, params([ALICE]), check_mode=True)
    assert check["changed"] and check["users"][0]["schema_copied"]
    assert check["users"][0]["schema_revision"] is None


@pytest.mark.parametrize(
    ("prepare", "copied"),
    [
        pytest.param(lambda server: server.schemas.update(mlflow_alice="utf8mb4"), True, id="empty-schema"),
        pytest.param(
            lambda server: server.migrated("mlflow_alice", OLD, definer="`alice`@`%`"), False, id="mlflow-tables"
        ),
        pytest.param(
            lambda server: (
                server.tables.update(mlflow_alice={"notes": "CREATE TABLE `notes` (`x` int)"})
                or server.schemas.update(mlflow_alice="utf8mb4")
            ),
            False,
            id="other-tables",
        ),
    ],
)
def test_only_new_or_empty_schemas_are_copied(server: MlflowServer, prepare: object, copied: bool) -> None:
    server.migrated(TEMPLATE)
    prepare(server)
    before = server.contents("mlflow_alice")
    result = run(server, params([ALICE]))
    assert result["users"][0]["schema_copied"] is copied
    assert (server.contents("mlflow_alice") == server.contents(TEMPLATE)) is copied
    if not copied:
        assert server.contents("mlflow_alice") == before


def test_a_copy_that_broke_off_is_made_again(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    server.fail_on[r"INSERT INTO `mlflow_alice`\.`alembic_version`"] = OperationalError(2013, "Lost connection")
    with pytest.raises(OperationalError) as failure:
        run(server, params([ALICE]))
    assert "while copying mlflow_template into mlflow_alice" in str(failure.value.__notes__)
    server.fail_on.clear()
    server.rows.pop(("mlflow_alice", "workspaces"))
    converge(server, params([ALICE]))
    assert server.contents("mlflow_alice") == server.contents(TEMPLATE)
    assert "DROP VIEW `run_names`" in server.writes
    assert any(line.startswith("DROP TABLE `alembic_version`, ") for line in server.writes)


def test_tables_with_rows_and_no_revision_are_never_dropped(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    server.migrated("mlflow_alice", definer="`alice`@`%`")
    server.rows.pop(("mlflow_alice", "alembic_version"))
    result = run(server, params([ALICE]))
    assert not result["users"][0]["schema_copied"]
    assert server.rows[("mlflow_alice", "workspaces")] == [("default",)]


def test_preparing_creates_the_template_and_asks_for_its_migration(server: MlflowServer) -> None:
    first = run(server, params([], schema_revision=HEAD), check_mode=True)
    assert first["changed"] and first["schemas_to_migrate"] == [TEMPLATE] and server.writes == []
    applied = run(server, params([], schema_revision=HEAD))
    assert server.writes == ["CREATE DATABASE `mlflow_template` CHARACTER SET utf8mb4"]
    assert applied["template"] == {"schema": TEMPLATE, "revision": None, "tables": 0, "created": True}
    assert applied["diff"]["before"]["template"] == {}
    server.writes.clear()
    again = run(server, params([], schema_revision=HEAD))
    # Still to migrate (the caller migrates it), but the module has nothing left to change.
    assert not again["changed"] and again["schemas_to_migrate"] == [TEMPLATE] and server.writes == []


def test_a_template_left_without_a_revision_is_emptied(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    server.rows.pop((TEMPLATE, "alembic_version"))
    result = run(server, params([], schema_revision=HEAD))
    assert server.writes == [
        "DROP DATABASE `mlflow_template`",
        "CREATE DATABASE `mlflow_template` CHARACTER SET utf8mb4",
    ]
    assert result["schemas_to_migrate"] == [TEMPLATE] and result["template"]["created"]


def test_outdated_schemas_of_registered_and_listed_users_are_reported(server: MlflowServer) -> None:
    server.migrated(TEMPLATE, OLD)
    server.register("carol", OLD)
    server.register("dave", HEAD)
    server.register("erin", None)
    server.migrated("mlflow_alice", OLD)
    result = run(server, params([ALICE], schema_revision=HEAD))
    assert result["schemas_to_migrate"] == [TEMPLATE, "mlflow_alice", "mlflow_carol"]
    assert result["template"] == {"schema": TEMPLATE, "revision": OLD, "tables": len(TABLES), "created": False}
    assert not any(line.startswith("INSERT INTO `mlflow_erin`") for line in server.writes), "only listed are copied"


def test_nothing_to_migrate_changes_nothing(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    server.register("carol", HEAD)
    runs = converge(server, params([], schema_revision=HEAD))
    assert runs["apply"]["schemas_to_migrate"] == [] and not runs["apply"]["changed"]
    assert runs["apply"]["diff"]["before"]["template"] == runs["apply"]["diff"]["after"]["template"]


def test_absent_ignores_the_template(server: MlflowServer) -> None:
    server.migrated(TEMPLATE)
    server.register("carol", HEAD)
    result = run(server, params([{"name": "carol"}], state="absent"))
    assert result["changed"] and "mlflow_carol" not in server.schemas and TEMPLATE in server.schemas
    assert "schema_copied" not in result["users"][0]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"schema_template": "mlflow_alice"}, "is the registry's or a user's schema", id="user-schema"),
        pytest.param({"schema_template": "stack_management"}, "is the registry's", id="registry"),
        pytest.param({"schema_template": "Bad-Name"}, "must match", id="bad-template"),
        pytest.param({"schema_revision": "x'; DROP"}, "not an Alembic revision", id="bad-revision"),
        pytest.param({"schema_template": None, "schema_revision": HEAD}, "needs schema_template", id="no-template"),
    ],
)
def test_refusals(server: MlflowServer, overrides: dict, message: str) -> None:
    with pytest.raises(DatabaseModuleError, match=message):
        run(server, params([ALICE], **overrides))
    assert server.writes == []
    assert not any("information_schema" in line for line in server.log)


def test_no_template_no_mlflow_statements(server: MlflowServer) -> None:
    run(server, params([ALICE], schema_template=None))
    assert not any("information_schema.TABLES" in line or "alembic" in line for line in server.log)
