# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Archives for the database_tenant module: a user's schema copied, table by table, into a schema of its own
before it is dropped.

The login account (root) copies what the user controls, so every name the user chose (tables, columns) goes
into the statements only as a quoted identifier, backticks doubled, and only base tables are copied: their
structure with ``CREATE TABLE ... LIKE`` and their rows with ``INSERT ... SELECT`` over the stored columns.
Reading a base table runs none of the user's code. Views, routines, events and sequences would have to be
re-created from their text, and a view or routine may run with the rights of whoever uses it, so a schema
holding one is refused, with the names, before anything changes. Triggers are not copied: an archive is not
written to, and the trigger's definition stays in the template.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from ansible_collections.onprem.mlops.plugins.module_utils.database import (
    DatabaseModuleError,
    Session,
    Statement,
    placeholders,
    quote_identifier,
)

# Table types that CREATE TABLE ... LIKE and INSERT ... SELECT copy faithfully.
_COPYABLE = frozenset({"BASE TABLE"})


@dataclass
class SchemaContents:
    """What one user's schema holds, as far as an archive is concerned."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    routines: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


@dataclass
class ArchiveContents:
    schemas: dict[str, SchemaContents]
    existing_archives: set[str]


def read_archive(session: Session, schemas: list[str], archives: list[str]) -> ArchiveContents:
    """The tables, stored columns, routines and events of ``schemas``, and which ``archives`` exist already."""
    contents = ArchiveContents({schema: SchemaContents() for schema in schemas}, set())
    if not schemas:
        return contents
    marks = placeholders(len(schemas))
    for schema, table, kind in session.rows(
        f"SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({marks})",
        schemas,
    ):
        contents.schemas[schema].tables[table] = kind
    for schema, table, column in session.rows(
        "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
        f"WHERE TABLE_SCHEMA IN ({marks}) AND EXTRA NOT LIKE %s ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
        (*schemas, "%GENERATED%"),
    ):
        contents.schemas[schema].columns.setdefault(table, []).append(column)
    for schema, routine, kind in session.rows(
        "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES "
        f"WHERE ROUTINE_SCHEMA IN ({marks})",
        schemas,
    ):
        contents.schemas[schema].routines.append(f"{kind.lower()} {routine}")
    for schema, event in session.rows(
        f"SELECT EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN ({marks})", schemas
    ):
        contents.schemas[schema].events.append(event)
    contents.existing_archives = {
        row[0]
        for row in session.rows(
            f"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({placeholders(len(archives))})",
            archives,
        )
    }
    return contents


def _refusals(schema: SchemaContents) -> list[str]:
    reasons = []
    others = sorted(name for name, kind in schema.tables.items() if kind not in _COPYABLE)
    if others:
        reasons.append("views or sequences " + _names(others))
    if schema.routines:
        reasons.append("routines " + _names(sorted(schema.routines)))
    if schema.events:
        reasons.append("events " + _names(sorted(schema.events)))
    return reasons


def _names(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in names)


def plan_archive(schema: str, archive: str, contents: ArchiveContents) -> list[Statement]:
    """The statements that copy ``schema`` into the new schema ``archive``; refuses what it cannot copy faithfully."""
    found = contents.schemas[schema]
    if archive in contents.existing_archives:
        raise DatabaseModuleError(
            f"the archive schema {archive} exists already: choose another archive_suffix; nothing was changed"
        )
    reasons = _refusals(found)
    if reasons:
        raise DatabaseModuleError(
            f"{schema} cannot be archived faithfully: it holds {'; '.join(reasons)}, which MLflow never creates and "
            "which only a copy of their definition, run as the login account, could archive. Drop them (as the "
            "user), or remove the user without an archive; nothing was changed"
        )
    source, target = quote_identifier(schema), quote_identifier(archive)
    statements = [Statement(f"CREATE DATABASE {target} CHARACTER SET utf8mb4")]
    for table in sorted(found.tables):
        name = quote_identifier(table)
        columns = ", ".join(quote_identifier(column) for column in found.columns.get(table, []))
        statements.append(Statement(f"CREATE TABLE {target}.{name} LIKE {source}.{name}"))
        if columns:
            statements.append(
                Statement(f"INSERT INTO {target}.{name} ({columns}) SELECT {columns} FROM {source}.{name}")
            )
    return statements
