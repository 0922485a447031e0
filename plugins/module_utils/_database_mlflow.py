# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MLflow tracking schemas for the database_tenant module: a template, copies of it, and their revisions.

MLflow builds its schema with about seventy Alembic migrations, which take seconds per schema. So one
template schema is migrated with the job image's MLflow (outside this module: that needs MLflow), and
each new user schema starts as a copy of it: every table as ``SHOW CREATE TABLE`` prints it, the
triggers and views, and the rows the migrations seed (``alembic_version``, MLflow's default workspace).
A copy is indistinguishable from a migrated schema, so MLflow starts on it without migrating.

Upgrades stay with MLflow: given the image's Alembic head, this code reports which schemas are at
another revision, and the caller runs the migrations on them.
"""

import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ansible_collections.onprem.mlops.plugins.module_utils.database import (
    DatabaseModuleError,
    MySQLError,
    Session,
    Statement,
    placeholders,
    quote_identifier,
)

ALEMBIC_TABLE = "alembic_version"
REVISION = re.compile(r"^[A-Za-z0-9_]{1,32}$")
# Creating a table is mostly the server's work (about 6 ms of its CPU each, 65 tables per schema); two
# connections keep a one-CPU server busy while the other waits for its round trip.
COPY_WORKERS = 2
# ``CREATE DEFINER=`root`@`%` `` of SHOW CREATE TRIGGER, to put the schema owner in its place.
_DEFINER = re.compile(
    r"^CREATE\s+(?:DEFINER\s*=\s*(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|[^@\s]+)@(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|\S+)\s+)?"
)


@dataclass(frozen=True)
class SchemaState:
    """What one schema holds: whether it exists, its base tables and views, its Alembic revision."""

    exists: bool = False
    tables: frozenset[str] = frozenset()
    views: frozenset[str] = frozenset()
    revision: str | None = None

    @property
    def empty(self) -> bool:
        return not self.tables and not self.views


@dataclass(frozen=True)
class Trigger:
    name: str
    create: str
    sql_mode: str
    character_set_client: str
    collation_connection: str


@dataclass(frozen=True)
class View:
    name: str
    create: str
    character_set_client: str
    collation_connection: str


@dataclass(frozen=True)
class Template:
    """The template's definitions, read once per run, in the order a copy creates them."""

    schema: str
    revision: str | None
    tables: tuple[str, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    views: tuple[View, ...] = ()
    # Tables holding rows the migrations seeded; alembic_version last, so a copy is complete once it has one.
    seeded: tuple[str, ...] = ()


@dataclass
class Copy:
    """One schema to fill from the template (its triggers defined by ``definer``), and the tables and views an
    interrupted copy left in it. With ``only_triggers``, the schema is complete and only those triggers, which
    run with another account's rights than its owner's, are made again with the owner as their definer.
    """

    schema: str
    definer: tuple[str, str] = ("", "")
    drop_tables: tuple[str, ...] = ()
    drop_views: tuple[str, ...] = ()
    only_triggers: tuple[str, ...] = ()


@dataclass
class MlflowSchemas:
    """The template and the schemas of this run, as found before anything is written."""

    template: str
    states: dict[str, SchemaState]
    revision: str | None = None
    registered: tuple[str, ...] = ()
    unfinished: set[str] = field(default_factory=set)
    # Trigger name -> table, of the template; per schema, trigger name -> definer (``user@host``).
    template_triggers: dict[str, str] = field(default_factory=dict)
    definers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def template_state(self) -> SchemaState:
        return self.states[self.template]

    def copy_for(self, schema: str, definer: tuple[str, str]) -> Copy | None:
        """How ``schema`` is filled from the template, or None when it holds MLflow tables (or others) whose
        triggers are all the owner's. A template trigger defined by another account is made again as the owner's.
        """
        state = self.states.get(schema, SchemaState())
        if state.empty:
            return Copy(schema, definer)
        if schema in self.unfinished:
            return Copy(schema, definer, tuple(sorted(state.tables)), tuple(sorted(state.views)))
        owner = "{}@{}".format(*definer)
        foreign = tuple(
            sorted(
                name
                for name, found_definer in self.definers.get(schema, {}).items()
                if found_definer != owner and name in self.template_triggers
            )
        )
        return Copy(schema, definer, only_triggers=foreign) if foreign else None

    def trigger_tables(self, schema: str, copied: bool) -> list[str]:
        """The tables of ``schema`` on which the owner needs TRIGGER for the template's triggers to fire."""
        tables = self.template_state.tables if copied else self.states.get(schema, SchemaState()).tables
        return sorted(set(self.template_triggers.values()) & tables)

    def template_statements(self) -> list[Statement]:
        """Create the template if missing; empty it if a migration broke off before its first revision."""
        if self.revision is None:
            return []
        state = self.template_state
        statements = []
        if state.exists and not state.empty and state.revision is None:
            statements.append(Statement(f"DROP DATABASE {quote_identifier(self.template)}"))
        if not state.exists or statements:
            statements.append(Statement(f"CREATE DATABASE {quote_identifier(self.template)} CHARACTER SET utf8mb4"))
        return statements

    def to_migrate(self, users: Iterable[str]) -> list[str]:
        """The template (unless at the revision) and the users' schemas holding MLflow tables at another one."""
        if self.revision is None:
            return []
        template = [] if self.template_state.revision == self.revision else [self.template]
        outdated = sorted(
            schema
            for schema in set(users) | set(self.registered)
            if schema != self.template and self.states.get(schema, SchemaState()).revision not in (None, self.revision)
        )
        return template + outdated

    def template_view(self) -> dict:
        state = self.template_state
        if not state.exists:
            return {}
        return {"schema": self.template, "revision": state.revision, "tables": len(state.tables)}


def validate(params: dict, schemas: Iterable[str]) -> None:
    """Refuse a template that is a user's or the registry's schema, and a malformed revision."""
    template, revision = params.get("schema_template"), params.get("schema_revision")
    if revision is not None and not template:
        raise DatabaseModuleError("schema_revision needs schema_template")
    if not template:
        return
    if not re.match(r"^[a-z][a-z0-9_]{0,63}$", template):
        raise DatabaseModuleError(f"schema_template {template!r} must match ^[a-z][a-z0-9_]{{0,63}}$")
    if template == params["registry_schema"] or template in schemas:
        raise DatabaseModuleError(
            f"schema_template {template!r} is the registry's or a user's schema; nothing was changed"
        )
    if revision is not None and not REVISION.match(revision):
        raise DatabaseModuleError(f"schema_revision {revision!r} is not an Alembic revision id")


def read_states(session: Session, schemas: list[str]) -> dict[str, SchemaState]:
    """Existence, tables, views and Alembic revision of ``schemas``, in three queries for any number."""
    if not schemas:
        return {}
    marks = placeholders(len(schemas))
    existing = {
        row[0]
        for row in session.rows(
            f"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({marks})", schemas
        )
    }
    tables: dict[str, set[str]] = {schema: set() for schema in existing}
    views: dict[str, set[str]] = {schema: set() for schema in existing}
    rows = session.rows(
        f"SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({marks})",
        schemas,
    )
    for schema, table, kind in rows:
        (views if kind == "VIEW" else tables)[schema].add(table)
    with_alembic = sorted(schema for schema in existing if ALEMBIC_TABLE in tables[schema])
    revisions: dict[str, list[str]] = {}
    if with_alembic:
        union = " UNION ALL ".join(
            f"SELECT %s, version_num FROM {quote_identifier(schema)}.{quote_identifier(ALEMBIC_TABLE)}"
            for schema in with_alembic
        )
        for schema, version in session.rows(union, with_alembic):
            revisions.setdefault(schema, []).append(version)
    return {
        schema: SchemaState(
            exists=schema in existing,
            tables=frozenset(tables.get(schema, ())),
            views=frozenset(views.get(schema, ())),
            # MLflow keeps one head; several rows (Alembic branches) never equal a head, so they get migrated.
            revision=",".join(sorted(revisions[schema])) if schema in revisions else None,
        )
        for schema in schemas
    }


def _holds_rows(session: Session, schema: str, tables: Iterable[str]) -> bool:
    if not tables:
        return False
    checks = " OR ".join(
        f"EXISTS(SELECT 1 FROM {quote_identifier(schema)}.{quote_identifier(table)})" for table in sorted(tables)
    )
    return bool(session.value(f"SELECT {checks}"))


def read_schemas(session: Session, params: dict, schemas: list[str]) -> MlflowSchemas:
    """The template and ``schemas`` (plus, with schema_revision, every registered user's schema)."""
    template, revision = params["schema_template"], params.get("schema_revision")
    registered: tuple[str, ...] = ()
    if revision is not None:
        registry = f"{quote_identifier(params['registry_schema'])}.`users`"
        names = [row[0] for row in session.rows(f"SELECT username FROM {registry}")]
        registered = tuple(
            params["schema_prefix"] + name for name in names if params["schema_prefix"] + name != template
        )
    found = MlflowSchemas(
        template, read_states(session, [template, *dict.fromkeys([*schemas, *registered])]), revision, registered
    )
    _read_triggers(session, found, [template, *schemas])
    template_tables = found.template_state.tables | found.template_state.views
    for schema in schemas:
        state = found.states[schema]
        # A copy writes alembic_version last: template tables without a revision nor any row are one that broke off.
        suspicious = not state.empty and state.revision is None and (state.tables | state.views) <= template_tables
        if suspicious and not _holds_rows(session, schema, state.tables):
            found.unfinished.add(schema)
    return found


def _read_triggers(session: Session, found: MlflowSchemas, schemas: list[str]) -> None:
    rows = session.rows(
        "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE, DEFINER FROM information_schema.TRIGGERS "
        f"WHERE TRIGGER_SCHEMA IN ({placeholders(len(schemas))})",
        schemas,
    )
    for schema, name, table, definer in rows:
        if schema == found.template:
            found.template_triggers[name] = table
        else:
            found.definers.setdefault(schema, {})[name] = definer


def read_template(session: Session, schema: str, state: SchemaState) -> Template:
    """Everything a copy needs from the template: definitions in creation order and the seeded tables."""
    quoted = quote_identifier(schema)
    tables = tuple(
        session.rows(f"SHOW CREATE TABLE {quoted}.{quote_identifier(table)}")[0][1] for table in sorted(state.tables)
    )
    trigger_names = session.rows(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s "
        "ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER",
        (schema,),
    )
    triggers = []
    for (name,) in trigger_names:
        row = session.rows(f"SHOW CREATE TRIGGER {quoted}.{quote_identifier(name)}")[0]
        triggers.append(
            Trigger(name, create=row[2], sql_mode=row[1], character_set_client=row[3], collation_connection=row[4])
        )
    views = []
    for name in sorted(state.views):
        row = session.rows(f"SHOW CREATE VIEW {quoted}.{quote_identifier(name)}")[0]
        views.append(View(name, row[1], row[2], row[3]))
    seeded: list[str] = []
    if state.tables:
        union = " UNION ALL ".join(
            f"SELECT %s, COUNT(*) FROM {quoted}.{quote_identifier(table)}" for table in sorted(state.tables)
        )
        seeded = [table for table, count in session.rows(union, sorted(state.tables)) if int(count)]
    seeded.sort(key=lambda table: (table == ALEMBIC_TABLE, table))
    return Template(schema, state.revision, tables, tuple(triggers), tuple(views), tuple(seeded))


def _verbatim(sql: str) -> str:
    """A statement the server printed, safe from PyMySQL's ``sql % args`` formatting."""
    return sql.replace("%", "%%")


def _trigger_statements(trigger: Trigger, definer: tuple[str, str]) -> list[Statement]:
    """Create ``trigger`` with ``definer`` as its definer: a trigger runs with its definer's rights, and one
    copied by the login account would otherwise run with root's in a schema its owner controls.
    """
    body = _DEFINER.sub("", trigger.create, count=1)
    return [
        Statement(
            "SET SESSION sql_mode = %s, character_set_client = %s, collation_connection = %s",
            (trigger.sql_mode, trigger.character_set_client, trigger.collation_connection),
        ),
        Statement(f"CREATE DEFINER = %s@%s {_verbatim(body)}", definer),
    ]


def copy_statements(template: Template, copy: Copy) -> list[Statement]:
    """The statements that make ``copy.schema`` (which exists) a copy of the template."""
    target = quote_identifier(copy.schema)
    statements = [Statement(f"USE {target}")]
    if copy.only_triggers:
        for trigger in template.triggers:
            if trigger.name in copy.only_triggers:
                statements.append(Statement(f"DROP TRIGGER IF EXISTS {quote_identifier(trigger.name)}"))
                statements += _trigger_statements(trigger, copy.definer)
        return statements
    statements.append(Statement("SET SESSION FOREIGN_KEY_CHECKS = 0"))
    for kind, names in (("VIEW", copy.drop_views), ("TABLE", copy.drop_tables)):
        if names:
            statements.append(Statement(f"DROP {kind} " + ", ".join(quote_identifier(name) for name in names)))
    statements += [Statement(_verbatim(create)) for create in template.tables]
    for trigger in template.triggers:
        statements += _trigger_statements(trigger, copy.definer)
    source = quote_identifier(template.schema)
    for view in template.views:
        statements.append(
            Statement(
                "SET SESSION character_set_client = %s, collation_connection = %s",
                (view.character_set_client, view.collation_connection),
            )
        )
        # SHOW CREATE VIEW names every column with its schema; the copy's must name its own.
        statements.append(Statement(_verbatim(view.create.replace(f"{source}.", f"{target}."))))
    statements += [
        Statement(f"INSERT INTO {target}.{quote_identifier(table)} SELECT * FROM {source}.{quote_identifier(table)}")
        for table in template.seeded
    ]
    return statements


def run_copies(
    open_worker: Callable[[], Session], template: Template, copies: list[Copy], workers: int = COPY_WORKERS
) -> None:
    """Fill every schema of ``copies``, a few at a time, each worker on a connection of its own."""
    if not copies:
        return
    count = max(1, min(workers, len(copies)))
    shares = [copies[index::count] for index in range(count)]

    def fill(share: list[Copy]) -> None:
        session = open_worker()
        try:
            for copy in share:
                try:
                    for statement in copy_statements(template, copy):
                        session.run(statement)
                except MySQLError as exc:
                    exc.add_note(f"while copying {template.schema} into {copy.schema}; a re-run completes it")
                    raise
        finally:
            session.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        for future in [pool.submit(fill, share) for share in shares]:
            future.result()
