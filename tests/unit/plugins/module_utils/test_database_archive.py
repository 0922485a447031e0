"""Unit tests of archiving a user's schema in database_tenant: quoting of hostile names and refusals."""

import re

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils._database_archive import (
    ArchiveContents,
    SchemaContents,
    plan_archive,
    read_archive,
)
from ansible_collections.onprem.mlops.plugins.module_utils.database import DatabaseModuleError
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_database_fakes import FakeServer
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_database_tenant_logic import params, run

SCHEMA, ARCHIVE = "mlflow_bob", "archive_bob_20261203"
HOSTILE = ["we`ird", "x`; DROP DATABASE zenml; -- ", "a` LIKE `mysql`.`user", "100%", "quo'te\"s"]


def contents(**schema: object) -> ArchiveContents:
    return ArchiveContents({SCHEMA: SchemaContents(**schema)}, set())


def executed(sql: str) -> str:
    """The statement as the server gets it: PyMySQL runs ``sql % ()`` even without parameters."""
    return sql % ()


def identifiers(sql: str) -> list[str]:
    """The identifiers of a statement, unquoted, as the server's parser reads them."""
    return [name.replace("``", "`") for name in re.findall(r"`((?:[^`]|``)*)`", sql)]


def test_hostile_names_stay_identifiers() -> None:
    tables = {name: "BASE TABLE" for name in HOSTILE}
    columns = {name: ["id", "c`ol -- x"] for name in HOSTILE}
    statements = plan_archive(SCHEMA, ARCHIVE, contents(tables=tables, columns=columns))
    assert executed(statements[0].sql) == f"CREATE DATABASE `{ARCHIVE}` CHARACTER SET utf8mb4"
    creates = [executed(statement.sql) for statement in statements if statement.sql.startswith("CREATE TABLE")]
    inserts = [executed(statement.sql) for statement in statements if statement.sql.startswith("INSERT")]
    assert len(creates) == len(inserts) == len(HOSTILE)
    for create, name in zip(creates, sorted(HOSTILE), strict=True):
        assert identifiers(create) == [ARCHIVE, name, SCHEMA, name]
        assert re.fullmatch(r"CREATE TABLE `(?:[^`]|``)*`\.`(?:[^`]|``)*` LIKE `(?:[^`]|``)*`\.`(?:[^`]|``)*`", create)
    for insert, name in zip(inserts, sorted(HOSTILE), strict=True):
        assert identifiers(insert) == [ARCHIVE, name, "id", "c`ol -- x", "id", "c`ol -- x", SCHEMA, name]
    assert all(statement.args == () for statement in statements)


def test_only_stored_columns_are_copied() -> None:
    statements = plan_archive(SCHEMA, ARCHIVE, contents(tables={"t": "BASE TABLE"}, columns={"t": ["id", "name"]}))
    assert (
        statements[-1].sql
        == "INSERT INTO `archive_bob_20261203`.`t` (`id`, `name`) SELECT `id`, `name` FROM `mlflow_bob`.`t`"
    )


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        pytest.param({"tables": {"v`1": "VIEW", "t": "BASE TABLE"}}, "views or sequences 'v`1'", id="view"),
        pytest.param({"tables": {"s": "SEQUENCE"}}, "views or sequences 's'", id="sequence"),
        pytest.param({"routines": ["function leak"]}, "routines 'function leak'", id="routine"),
        pytest.param({"events": ["tick"]}, "events 'tick'", id="event"),
    ],
)
def test_what_cannot_be_copied_faithfully_is_refused(schema: dict, named: str) -> None:
    with pytest.raises(DatabaseModuleError, match="cannot be archived faithfully") as refusal:
        plan_archive(SCHEMA, ARCHIVE, contents(**schema))
    assert named in str(refusal.value) and "nothing was changed" in str(refusal.value)


def test_an_existing_archive_is_refused() -> None:
    found = ArchiveContents({SCHEMA: SchemaContents()}, {ARCHIVE})
    with pytest.raises(DatabaseModuleError, match="exists already"):
        plan_archive(SCHEMA, ARCHIVE, found)


class Reader:
    """A session answering the archive's information_schema queries."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, tuple]] = []

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        self.queries.append((sql, tuple(args)))
        if "information_schema.TABLES" in sql:
            return [(SCHEMA, "we`ird", "BASE TABLE"), (SCHEMA, "v", "VIEW")]
        if "information_schema.COLUMNS" in sql:
            assert args[-1] == "%GENERATED%"
            return [(SCHEMA, "we`ird", "id")]
        if "information_schema.ROUTINES" in sql:
            return [(SCHEMA, "p", "PROCEDURE")]
        if "information_schema.EVENTS" in sql:
            return []
        return [(ARCHIVE,)]


def test_read_archive_collects_what_the_schema_holds() -> None:
    reader = Reader()
    found = read_archive(reader, [SCHEMA], [ARCHIVE])
    assert found.schemas[SCHEMA] == SchemaContents(
        tables={"we`ird": "BASE TABLE", "v": "VIEW"}, columns={"we`ird": ["id"]}, routines=["procedure p"]
    )
    assert found.existing_archives == {ARCHIVE}
    assert all("%s" in sql for sql, _ in reader.queries)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"state": "archived"}, "state=archived needs archive_suffix"),
        ({"state": "absent", "archive_suffix": "x;y"}, "archive_suffix 'x;y' must match"),
        ({"max_connections": -1}, "max_connections must be 0"),
    ],
)
def test_option_refusals(overrides: dict, message: str) -> None:
    server = FakeServer()
    with pytest.raises(DatabaseModuleError, match=re.escape(message)):
        run(server, params([{"name": "bob", "role": "developer", "password": "pw"}], **overrides))
    assert server.writes == []
