# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the database_tenant module: per person an account, a private schema, its privileges and a
row in the user registry, for a whole class over one connection.

Everything is read first (a handful of queries for all users, plus SHOW GRANTS per existing account),
then every user is planned, and only then is anything written, so an invalid list changes nothing.
With a schema template, new schemas are then filled as copies of it (see ``_database_mlflow``).
"""

import re
from dataclasses import dataclass, field

from ansible_collections.onprem.mlops.plugins.module_utils import _database_mlflow as mlflow
from ansible_collections.onprem.mlops.plugins.module_utils._database_archive import plan_archive, read_archive
from ansible_collections.onprem.mlops.plugins.module_utils._database_grants import (
    AccountGrants,
    parse_grants,
    plan_grants,
    reference_privileges,
    render,
    schema_pattern,
)
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import (
    SECRET_CHANGED_PLACEHOLDER,
    SECRET_PLACEHOLDER,
    user_problems,
)
from ansible_collections.onprem.mlops.plugins.module_utils.database import (
    MYSQL,
    DatabaseModuleError,
    MySQLError,
    Session,
    Statement,
    open_session,
    placeholders,
    quote_identifier,
)

CHARSET = "utf8mb4"
_SCHEMA_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_HOST = 255
_ARCHIVE_SUFFIX = re.compile(r"^[A-Za-z0-9_]{1,24}$")
# What MLflow's migrations and tracking server need on a schema, measured with MLflow 3.17 (see the module's
# notes): no CREATE VIEW, TRIGGER, CREATE ROUTINE, ALTER ROUTINE, EVENT, EXECUTE, LOCK TABLES.
OWNER_PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES"})
READER_PRIVILEGES = frozenset({"SELECT"})


@dataclass
class Found:
    """What the server holds for one user; None for a schema or registry row that is missing."""

    account: bool = False
    charset: str | None = None
    role: str | None = None
    grants: AccountGrants = field(default_factory=AccountGrants)
    usage: dict | None = None
    max_connections: int | None = None
    # mysql.user's ssl_type: "" (no requirement) or ANY (REQUIRE SSL); X509 and SPECIFIED are left alone.
    ssl_type: str | None = None


@dataclass
class Context:
    """The options and server facts every user's plan needs."""

    params: dict
    dialect: str
    reference: frozenset[str]

    @property
    def host(self) -> str:
        return self.params["account_host"]

    @property
    def registry(self) -> str:
        return f"{quote_identifier(self.params['registry_schema'])}.`users`"

    def schema(self, name: str) -> str:
        return f"{self.params['schema_prefix']}{name}"

    @property
    def readable(self) -> str:
        """The grant pattern of every user's schema (and the template's), which administrators may read."""
        return schema_pattern(self.params["schema_prefix"]) + "%"

    def wanted_grants(self, name: str, role: str) -> dict[str, frozenset[str]]:
        wanted = {schema_pattern(self.schema(name)): OWNER_PRIVILEGES}
        if role == "administrator":
            wanted[self.readable] = READER_PRIVILEGES
        return wanted


@dataclass
class UserPlan:
    """The statements that bring one user to the desired state, and how it looks before and after."""

    name: str
    statements: list[Statement]
    before: dict
    after: dict
    result: dict
    copy: mlflow.Copy | None = None
    # Run after the copies: grants on tables a copy creates.
    after_copy: list[Statement] = field(default_factory=list)
    # Run first, before the schema is dropped: the archive of the schema.
    archive: list[Statement] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.statements or self.after_copy or self.archive) or self.copy is not None


def validate(params: dict) -> list[dict]:
    """Refuse bad options before anything is read or written; return the users."""
    for option, pattern in (("schema_prefix", _SCHEMA_PREFIX), ("registry_schema", _SCHEMA_NAME)):
        if not pattern.match(params[option]):
            raise DatabaseModuleError(f"{option} {params[option]!r} must match {pattern.pattern}")
    host = params["account_host"]
    if not host or len(host) > _MAX_HOST:
        raise DatabaseModuleError(f"account_host must be 1 to {_MAX_HOST} characters")
    if params.get("max_connections") is not None and params["max_connections"] < 0:
        raise DatabaseModuleError("max_connections must be 0 (no limit) or more")
    suffix = params.get("archive_suffix")
    if suffix is not None and not _ARCHIVE_SUFFIX.match(suffix):
        raise DatabaseModuleError(f"archive_suffix {suffix!r} must match {_ARCHIVE_SUFFIX.pattern}")
    if params["state"] == "archived" and suffix is None:
        raise DatabaseModuleError("state=archived needs archive_suffix")
    users = params["users"]
    names = [user["name"] for user in users]
    # The one username rule of every tenant module and filter (module_utils/_tenant.py).
    problems = user_problems(users, params.get("login_user"), role_required=params["state"] == "present")
    if problems:
        raise DatabaseModuleError("; ".join(problems) + "; nothing was changed")
    mlflow.validate(params, [params["schema_prefix"] + name for name in names])
    return users


def create_user(dialect: str, account: tuple[str, str], password: str) -> Statement:
    return Statement(f"CREATE USER %s@%s {_identified(dialect)}", (*account, password))


def set_password(dialect: str, account: tuple[str, str], password: str) -> Statement:
    return Statement(f"ALTER USER %s@%s {_identified(dialect)}", (*account, password))


def _identified(dialect: str) -> str:
    # MySQL 8.4 disables mysql_native_password by default: naming the plugin also moves an account
    # carried over from 8.0 with the old plugin to one it can log in with.
    return "IDENTIFIED WITH caching_sha2_password BY %s" if dialect == MYSQL else "IDENTIFIED BY %s"


def create_schema(schema: str) -> Statement:
    return Statement(f"CREATE DATABASE {quote_identifier(schema)} CHARACTER SET {CHARSET}")


def alter_schema(schema: str) -> Statement:
    return Statement(f"ALTER DATABASE {quote_identifier(schema)} CHARACTER SET {CHARSET}")


def drop_schema(schema: str) -> Statement:
    return Statement(f"DROP DATABASE {quote_identifier(schema)}")


def drop_user(account: tuple[str, str]) -> Statement:
    return Statement("DROP USER %s@%s", account)


def require_transport(account: tuple[str, str], require_ssl: bool) -> Statement:
    return Statement(f"ALTER USER %s@%s REQUIRE {'SSL' if require_ssl else 'NONE'}", account)


def _transport_statements(account: tuple[str, str], found: Found, require_ssl: bool | None) -> list[Statement]:
    """REQUIRE SSL (or NONE) when the account's requirement differs; a new account gets it too."""
    if require_ssl is None:
        return []
    current = (found.ssl_type or "").upper() if found.account else ""
    if require_ssl and current in ("ANY", "X509", "SPECIFIED"):
        return []
    if not require_ssl and current == "":
        return []
    return [require_transport(account, require_ssl)]


def limit_connections(account: tuple[str, str], limit: int) -> Statement:
    return Statement(f"ALTER USER %s@%s WITH MAX_USER_CONNECTIONS {int(limit)}", account)


def _registry_write(ctx: Context, name: str, found_role: str | None, role: str) -> list[Statement]:
    if found_role is None:
        return [Statement(f"INSERT INTO {ctx.registry} (username, role) VALUES (%s, %s)", (name, role))]
    if found_role != role:
        return [Statement(f"UPDATE {ctx.registry} SET role = %s WHERE username = %s", (role, name))]
    return []


def read_context(session: Session, params: dict) -> Context:
    login_grants = parse_grants(row[0] for row in session.rows("SHOW GRANTS"))
    return Context(params, session.dialect, reference_privileges(login_grants))


def read_found(session: Session, ctx: Context, names: list[str]) -> dict[str, Found]:
    """Read accounts, schemas, registry rows, grants and (if asked) usage of all ``names``."""
    found = {name: Found() for name in names}
    if not names:
        return found
    by_schema = {ctx.schema(name): name for name in names}
    marks = placeholders(len(names))
    accounts = session.rows(
        f"SELECT User, max_user_connections, ssl_type FROM mysql.user WHERE Host = %s AND User IN ({marks})",
        (ctx.host, *names),
    )
    for user, limit, ssl_type in accounts:
        found[user].account = True
        found[user].max_connections = int(limit)
        found[user].ssl_type = ssl_type or ""
    schemas = session.rows(
        "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
        f"WHERE SCHEMA_NAME IN ({marks})",
        tuple(by_schema),
    )
    for schema, charset in schemas:
        found[by_schema[schema]].charset = charset
    for user, role in session.rows(f"SELECT username, role FROM {ctx.registry} WHERE username IN ({marks})", names):
        found[user].role = role
    for name in names:
        if found[name].account:
            lines = session.rows("SHOW GRANTS FOR %s@%s", (name, ctx.host))
            found[name].grants = parse_grants(row[0] for row in lines)
    if ctx.params["usage"]:
        _read_usage(session, ctx, found, by_schema)
    return found


def _read_usage(session: Session, ctx: Context, found: dict[str, Found], by_schema: dict[str, str]) -> None:
    if ctx.dialect == MYSQL:
        # MySQL 8 caches table statistics for a day by default; a listing should show today's sizes.
        session.run(Statement("SET SESSION information_schema_stats_expiry = 0"))
    for name in found:
        found[name].usage = {"bytes": 0, "tables": 0}
    rows = session.rows(
        "SELECT TABLE_SCHEMA, COUNT(*), COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) "
        f"FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({placeholders(len(by_schema))}) "
        "AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') GROUP BY TABLE_SCHEMA",
        tuple(by_schema),
    )
    for schema, tables, size in rows:
        found[by_schema[schema]].usage = {"bytes": int(size), "tables": int(tables)}


def _view(ctx: Context, name: str, found: Found, grants: AccountGrants) -> dict:
    """One user as shown in the diff: only what exists, never a password."""
    view: dict = {}
    if found.account:
        view["account"] = f"{name}@{ctx.host}"
        view["grants"] = render(grants, ctx.reference)
        if found.max_connections is not None:
            view["max_connections"] = found.max_connections
        if ctx.params.get("require_ssl") is not None:
            view["require_ssl"] = (found.ssl_type or "").upper() in ("ANY", "X509", "SPECIFIED")
    if found.charset is not None:
        view["schema"] = ctx.schema(name)
        view["charset"] = found.charset
    if found.role is not None:
        view["role"] = found.role
    return view


def _result(ctx: Context, name: str, found: Found, role: str | None, changed: bool) -> dict:
    result = {
        "name": name,
        "role": role,
        "previous_role": found.role,
        "schema": ctx.schema(name),
        "account_exists": found.account,
        "changed": changed,
    }
    if ctx.params["usage"]:
        result["usage"] = found.usage
    return result


def stale_passwords(session: Session, ctx: Context, users: list[dict], found: dict[str, Found]) -> set[str]:
    """The existing accounts whose password is not the given one, when update_password=always asks."""
    if ctx.params["update_password"] != "always":
        return set()
    passwords = {
        user["name"]: user["password"] for user in users if user.get("password") and found[user["name"]].account
    }
    return session.refused_logins(passwords)


def _plan_copy(ctx: Context, name: str, plan: UserPlan, schemas: mlflow.MlflowSchemas | None) -> None:
    """Fill a new or empty schema from the template, and show the schema's MLflow revision in the diff."""
    if schemas is None:
        return
    state = schemas.states[ctx.schema(name)]
    plan.copy = schemas.copy_for(ctx.schema(name), (name, ctx.host))
    copied = plan.copy is not None and not plan.copy.only_triggers
    # A trigger fires only while its definer (the owner) holds TRIGGER on its table: on those tables alone.
    for table in schemas.trigger_tables(ctx.schema(name), copied):
        level = f"{quote_identifier(ctx.schema(name))}.{quote_identifier(table)}"
        if f"GRANT TRIGGER ON {level.replace('%%', '%')}" not in plan.before.get("grants", []):
            plan.after_copy.append(Statement(f"GRANT TRIGGER ON {level} TO %s@%s", (name, ctx.host)))
            plan.after.setdefault("grants", []).append(f"GRANT TRIGGER ON {level.replace('%%', '%')}")
    revision = schemas.template_state.revision if plan.copy else state.revision
    if state.exists:
        plan.before["revision"] = state.revision
    plan.after["revision"] = revision
    plan.result["schema_copied"] = plan.copy is not None
    plan.result["schema_revision"] = revision
    plan.result["changed"] = plan.changed


def plan_present(
    ctx: Context,
    user: dict,
    found: Found,
    password_stale: bool = False,
    schemas: mlflow.MlflowSchemas | None = None,
) -> UserPlan:
    name, role = user["name"], user["role"]
    account = (name, ctx.host)
    schema = ctx.schema(name)
    statements: list[Statement] = []
    password_changed = False
    if not found.account:
        statements.append(create_user(ctx.dialect, account, user["password"]))
    elif password_stale:
        statements.append(set_password(ctx.dialect, account, user["password"]))
        password_changed = True
    if found.charset is None:
        statements.append(create_schema(schema))
    elif found.charset.lower() != CHARSET:
        statements.append(alter_schema(schema))
    grant_statements, grants_after = plan_grants(account, found.grants, ctx.wanted_grants(name, role))
    statements += grant_statements
    limit = ctx.params.get("max_connections")
    if limit is not None and found.max_connections != limit:
        statements.append(limit_connections(account, limit))
    require_ssl = ctx.params.get("require_ssl")
    transport = _transport_statements(account, found, require_ssl)
    statements += transport
    statements += _registry_write(ctx, name, found.role, role)

    before = _view(ctx, name, found, found.grants)
    after_found = Found(account=True, charset=CHARSET, role=role, max_connections=limit)
    if limit is None:
        after_found.max_connections = found.max_connections
    after_found.ssl_type = ("ANY" if require_ssl else "") if transport else found.ssl_type
    after = _view(ctx, name, after_found, grants_after)
    if password_changed:
        before["password"], after["password"] = SECRET_PLACEHOLDER, SECRET_CHANGED_PLACEHOLDER
    result = _result(ctx, name, found, role, bool(statements))
    result["password_changed"] = password_changed
    plan = UserPlan(name, statements, before, after, result)
    _plan_copy(ctx, name, plan, schemas)
    return plan


def plan_archived(ctx: Context, user: dict, found: Found, archive: list[Statement] | None = None) -> UserPlan:
    """Only the archive of the user's schema; the user keeps everything."""
    name = user["name"]
    view = _view(ctx, name, found, found.grants)
    plan = UserPlan(
        name, [], view, dict(view), _result(ctx, name, found, found.role, bool(archive)), archive=archive or []
    )
    plan.result["archive"] = archive_schema(ctx, name) if plan.archive else None
    if plan.archive:
        plan.after["archive"] = archive_schema(ctx, name)
    return plan


def plan_absent(ctx: Context, user: dict, found: Found, archive: list[Statement] | None = None) -> UserPlan:
    name = user["name"]
    statements: list[Statement] = []
    # The schema goes first: MySQL refuses to drop an account that still defines objects in it.
    if found.charset is not None:
        statements.append(drop_schema(ctx.schema(name)))
    if found.account:
        statements.append(drop_user((name, ctx.host)))
    # The registry row goes last, so that it still names a user whose removal broke off half-way.
    if found.role is not None:
        statements.append(Statement(f"DELETE FROM {ctx.registry} WHERE username = %s", (name,)))
    before = _view(ctx, name, found, found.grants)
    result = _result(ctx, name, found, None, bool(statements))
    plan = UserPlan(name, statements, before, {}, result, archive=archive or [])
    if ctx.params.get("archive_suffix") is not None:
        result["archive"] = archive_schema(ctx, name) if plan.archive else None
        if plan.archive:
            plan.after["archive"] = archive_schema(ctx, name)
    return plan


def archive_schema(ctx: Context, name: str) -> str:
    return f"archive_{name}_{ctx.params['archive_suffix']}"


def _check_passwords(users: list[dict], found: dict[str, Found]) -> None:
    missing = [user["name"] for user in users if not found[user["name"]].account and not user.get("password")]
    if missing:
        raise DatabaseModuleError(f"users {missing} have no account yet and need a password; nothing was changed")


def _check_template(schemas: mlflow.MlflowSchemas | None, plans: list[UserPlan]) -> None:
    copies = [plan.name for plan in plans if plan.copy]
    if schemas is not None and copies and schemas.template_state.revision is None:
        raise DatabaseModuleError(
            f"schema_template {schemas.template} holds no MLflow schema yet (no alembic_version row), so the schemas "
            f"of {copies} cannot be copied from it: run MLflow's migrations on it first; nothing was changed"
        )


def _read_schemas(session: Session, ctx: Context, names: list[str]) -> mlflow.MlflowSchemas | None:
    if not ctx.params.get("schema_template") or ctx.params["state"] != "present":
        return None
    return mlflow.read_schemas(session, ctx.params, [ctx.schema(name) for name in names])


def _copy_schemas(session: Session, ctx: Context, schemas: mlflow.MlflowSchemas | None, plans: list[UserPlan]) -> None:
    copies = [plan.copy for plan in plans if plan.copy]
    if schemas is not None and copies:
        template = mlflow.read_template(session, schemas.template, schemas.template_state)
        mlflow.run_copies(lambda: open_session(ctx.params), template, copies)
    for plan in plans:
        for statement in plan.after_copy:
            session.run(statement)


def _apply(session: Session, plans: list[UserPlan]) -> None:
    for plan in plans:
        try:
            for statement in plan.statements:
                session.run(statement)
        except MySQLError as exc:
            done = [earlier.name for earlier in plans[: plans.index(plan)] if earlier.statements]
            exc.add_note(f"while changing user {plan.name} (done before it: {done or 'nobody'}); a re-run completes it")
            raise


def ensure_tenants(session: Session, params: dict, check_mode: bool) -> dict:
    users = validate(params)
    ctx = read_context(session, params)
    names = [user["name"] for user in users]
    found = read_found(session, ctx, names)
    schemas = _read_schemas(session, ctx, names)
    if params["state"] == "present":
        _check_passwords(users, found)
        stale = stale_passwords(session, ctx, users, found)
        plans = [plan_present(ctx, user, found[user["name"]], user["name"] in stale, schemas) for user in users]
    else:
        archives = _plan_archives(session, ctx, names, found)
        planner = plan_archived if params["state"] == "archived" else plan_absent
        plans = [planner(ctx, user, found[user["name"]], archives.get(user["name"])) for user in users]
    template_statements = schemas.template_statements() if schemas else []
    if not check_mode:
        _check_template(schemas, plans)
        for statement in template_statements:
            session.run(statement)
        for plan in plans:
            for statement in plan.archive:
                session.run(statement)
        _apply(session, plans)
        _copy_schemas(session, ctx, schemas, plans)
    result = {
        "changed": bool(template_statements) or any(plan.changed for plan in plans),
        "diff": {
            "before": {"users": {plan.name: plan.before for plan in plans}},
            "after": {"users": {plan.name: plan.after for plan in plans}},
        },
        "users": [plan.result for plan in plans],
    }
    if schemas is not None and schemas.revision is not None:
        _report_template(result, schemas, bool(template_statements), [ctx.schema(name) for name in names])
    return result


def _plan_archives(session: Session, ctx: Context, names: list[str], found: dict[str, Found]) -> dict:
    """The statements that copy each existing schema into its archive; refuses what cannot be copied faithfully."""
    if ctx.params.get("archive_suffix") is None:
        return {}
    schemas = {ctx.schema(name): archive_schema(ctx, name) for name in names if found[name].charset is not None}
    contents = read_archive(session, list(schemas), list(schemas.values()))
    return {
        name: plan_archive(ctx.schema(name), schemas[ctx.schema(name)], contents)
        for name in names
        if ctx.schema(name) in schemas
    }


def _report_template(result: dict, schemas: mlflow.MlflowSchemas, created: bool, listed: list[str]) -> None:
    """The template before and after (its creation is this run's; its migration the caller's) and what to migrate."""
    before = schemas.template_view()
    after = {"schema": schemas.template, "revision": None, "tables": 0} if created else before
    result["diff"]["before"]["template"], result["diff"]["after"]["template"] = before, after
    result["template"] = {**after, "created": created}
    result["schemas_to_migrate"] = schemas.to_migrate(listed)
