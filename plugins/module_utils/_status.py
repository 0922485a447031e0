# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the server_status module: who uses what in the database and in MinIO, and what is wrong.

Every figure comes from a fixed number of requests, whatever the number of users: one query for the
registry, one for every schema's size, one UNION over the MLflow schemas, one for ZenML's pipeline runs
grouped by user (straight from ZenML's tables), MinIO's data-usage summary, and the bucket quotas fetched
a few at a time. A source that cannot be read becomes a problem in the report instead of failing the
module, so a broken service still yields a report and a non-zero exit at the end of the play.
"""

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from ansible_collections.onprem.mlops.plugins.module_utils import _status_docker as engine
from ansible_collections.onprem.mlops.plugins.module_utils._minio_bucket import bucket_quota, bucket_usage
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import user_resources
from ansible_collections.onprem.mlops.plugins.module_utils.database import (
    MYSQL,
    MySQLError,
    Session,
    error_message,
    quote_identifier,
)
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    MinioAdminException,
    MinioClients,
    S3Error,
    _admin_error_message,
    _s3_error_message,
    admin_json,
)

# minio.connect() reports a missing library before any request is made.
with contextlib.suppress(ImportError):
    import urllib3

# Quota requests in flight at once: 200 buckets take a few tenths of a second.
_QUOTA_WORKERS = 8
SCANNER = "scanner"
LISTING = "listing"


# --- database ---------------------------------------------------------------------------------------


def registry_users(session: Session, registry_schema: str) -> list[tuple[str, str]]:
    """(username, role) of every registered user, by name."""
    table = f"{quote_identifier(registry_schema)}.users"
    return [(row[0], row[1]) for row in session.rows(f"SELECT username, role FROM {table} ORDER BY username")]


def schema_sizes(session: Session, prefix: str) -> dict[str, int]:
    """Bytes (data and indexes) of every schema whose name starts with ``prefix``."""
    if session.dialect == MYSQL:
        # MySQL 8 caches these figures for a day unless told otherwise; MariaDB knows no such variable.
        session.rows("SET SESSION information_schema_stats_expiry = 0")
    rows = session.rows(
        "SELECT s.schema_name, CAST(COALESCE(SUM(t.data_length + t.index_length), 0) AS UNSIGNED) "
        "FROM information_schema.schemata s LEFT JOIN information_schema.tables t ON t.table_schema = s.schema_name "
        "WHERE LEFT(s.schema_name, CHAR_LENGTH(%s)) = %s GROUP BY s.schema_name",
        (prefix, prefix),
    )
    return {name: int(size) for name, size in rows}


def mlflow_runs(session: Session, schemas: list[str]) -> dict[str, dict]:
    """{schema: {runs, last}} for the schemas holding MLflow's runs table; ``last`` in epoch milliseconds.

    Runs deleted in MLflow (lifecycle_stage 'deleted') are not counted but still show activity.
    """
    if not schemas:
        return {}
    with_runs = session.rows(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'runs' AND table_schema IN ("
        + ", ".join(["%s"] * len(schemas))
        + ")",
        schemas,
    )
    names = sorted(row[0] for row in with_runs)
    if not names:
        return {}
    selects = [
        "SELECT %s, CAST(COALESCE(SUM(lifecycle_stage <> 'deleted'), 0) AS UNSIGNED), "
        f"MAX(GREATEST(COALESCE(start_time, 0), COALESCE(end_time, 0))) FROM {quote_identifier(name)}.runs"
        for name in names
    ]
    rows = session.rows(" UNION ALL ".join(selects), names)
    return {name: {"runs": int(count), "last": int(last) if last else None} for name, count, last in rows}


def zenml_runs(session: Session, zenml_schema: str) -> dict[str, dict]:
    """{user name: {runs, last}} of ZenML's pipeline runs, read from its tables; ``last`` a naive UTC datetime."""
    schema = quote_identifier(zenml_schema)
    rows = session.rows(
        f"SELECT u.name, COUNT(r.id), MAX(r.updated) FROM {schema}.`user` u "
        f"LEFT JOIN {schema}.pipeline_run r ON r.user_id = u.id GROUP BY u.name"
    )
    return {name: {"runs": int(count), "last": last} for name, count, last in rows}


def zenml_version(session: Session, zenml_schema: str) -> str | None:
    """The ZenML release the schema was migrated to (ZenML names its release migrations by version)."""
    return session.value(f"SELECT version_num FROM {quote_identifier(zenml_schema)}.alembic_version")


# --- MinIO ------------------------------------------------------------------------------------------


def data_usage(clients: MinioClients) -> tuple[dict[str, dict], str | None]:
    """MinIO's usage summary per bucket ({size, objects}) and when its scanner last updated it."""
    info = admin_json(clients.admin.get_data_usage_info) or {}
    buckets = {
        name: {"size": int(usage.get("size") or 0), "objects": int(usage.get("objectsCount") or 0)}
        for name, usage in (info.get("bucketsUsageInfo") or {}).items()
    }
    return buckets, info.get("lastUpdate")


def listed_usage(clients: MinioClients, bucket: str) -> dict:
    """Bytes (every version) and objects of a bucket, counted by listing (exact, one request per 1,000)."""
    usage = bucket_usage(clients, bucket)
    return {"size": usage["size_all_versions"], "objects": usage["objects"]}


def quota(clients: MinioClients, bucket: str) -> int | None:
    """The bucket's hard quota in bytes; None without one, or without the bucket."""
    return bucket_quota(clients, bucket, missing=("NoSuchBucket",))


def bucket_figures(clients: MinioClients, buckets: list[str], source: str) -> tuple[dict[str, dict], dict]:
    """{bucket: {size, objects, quota, exists}} and where the sizes come from.

    With the scanner's summary, a bucket created after its last pass is listed instead, so a new
    bucket never shows as empty while it is not.
    """
    existing = {bucket.name for bucket in clients.s3.list_buckets()}
    scanned, updated = data_usage(clients) if source == SCANNER else ({}, None)
    wanted = [name for name in buckets if name in existing]
    to_list = [name for name in wanted if name not in scanned]
    with ThreadPoolExecutor(max_workers=_QUOTA_WORKERS) as pool:
        quotas = dict(zip(wanted, pool.map(lambda name: quota(clients, name), wanted), strict=True))
        listed = dict(zip(to_list, pool.map(lambda name: listed_usage(clients, name), to_list), strict=True))
    figures = {
        name: {**(scanned.get(name) or listed.get(name) or {"size": 0, "objects": 0}), "quota": quotas.get(name)}
        for name in wanted
    }
    return figures, {"source": source, "scanner_updated_at": updated, "listed": sorted(listed)}


def minio_version(clients: MinioClients) -> str | None:
    info = admin_json(clients.admin.info) or {}
    version = ((info.get("servers") or [{}])[0]).get("version")
    # A build from source (go install) reports no release; the image's label then tells more.
    return None if not version or version.startswith("DEVELOPMENT") else version


# --- the report -------------------------------------------------------------------------------------


def _as_utc(value: Any) -> datetime | None:
    """Epoch milliseconds (MLflow) or a naive UTC datetime (ZenML) as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _percent(part: int | float | None, whole: int | float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part * 100 / whole, 1)


def user_rows(
    users: list[tuple[str, str]],
    schema_prefix: str,
    schemas: dict[str, int],
    mlflow: dict[str, dict],
    zenml: dict[str, dict],
    buckets: dict[str, dict],
) -> list[dict]:
    """One row per registered user, every field present (null where the resource is missing)."""
    rows = []
    for username, role in users:
        names = user_resources(username, schema_prefix)
        schema, bucket = names["mysql_schema"], names["bucket"]
        runs = mlflow.get(schema) or {}
        pipelines = zenml.get(names["zenml_user"]) or {}
        figures = buckets.get(bucket) or {}
        times = [stamp for stamp in (_as_utc(runs.get("last")), _as_utc(pipelines.get("last"))) if stamp]
        rows.append(
            {
                "username": username,
                "role": role,
                "schema": schema,
                "schema_size": schemas.get(schema),
                "bucket": bucket,
                "bucket_size": figures.get("size"),
                "bucket_objects": figures.get("objects"),
                "bucket_quota": figures.get("quota"),
                "bucket_quota_percent": _percent(figures.get("size"), figures.get("quota")),
                "mlflow_runs": runs.get("runs", 0 if schema in schemas else None),
                "zenml_runs": pipelines.get("runs"),
                "last_activity": max(times).isoformat() if times else None,
            }
        )
    return rows


def service_rows(containers: list[dict], usage: dict[str, dict], volumes: dict[str, int | None]) -> list[dict]:
    """The containers' facts with CPU and memory against their limits and their volumes' sizes."""
    rows = []
    for facts in containers:
        used = usage.get(facts["id"]) or {}
        cpu_used = used.get("cpu_used")
        memory = used.get("memory_usage")
        row = {key: value for key, value in facts.items() if key != "id"}
        row.update(
            cpu_used=round(cpu_used, 3) if cpu_used is not None else None,
            cpu_percent=_percent(cpu_used, facts["cpu_limit"]),
            memory_usage=memory,
            memory_percent=_percent(memory, facts["memory_limit"]),
            volume_size=sum(volumes.get(name) or 0 for name in facts["volumes"]) if facts["volumes"] else None,
        )
        rows.append(row)
    return sorted(rows, key=lambda row: row["service"] or "")


def problems(report: dict, expected_services: list[str], min_free_disk: int, quota_percent: float) -> list[str]:
    """Everything that should wake someone: missing or unhealthy services, low disk, nearly full buckets."""
    found: list[str] = list(report.get("errors") or [])
    services = {row["service"]: row for row in report.get("services") or []}
    for name in expected_services:
        row = services.get(name)
        if row is None:
            found.append(f"service {name}: no container of the stack (deploy with run_server.yml)")
        elif row["state"] != "running":
            found.append(f"service {name}: container {row['container']} is {row['state']}, not running")
        elif row["health"] not in (None, "healthy"):
            found.append(f"service {name}: container {row['container']} is {row['health']}")
    docker = report.get("docker") or {}
    free = docker.get("disk_free")
    if free is not None and free < min_free_disk:
        found.append(
            f"disk: {_gib(free)} free under {docker.get('root_dir')}, below the threshold of {_gib(min_free_disk)}"
        )
    for user in report.get("users") or []:
        percent = user["bucket_quota_percent"]
        if percent is not None and percent >= quota_percent:
            found.append(
                f"user {user['username']}: bucket {user['bucket']} holds {_gib(user['bucket_size'])} of its "
                f"{_gib(user['bucket_quota'])} quota ({percent:g}%, threshold {quota_percent:g}%)"
            )
    return found


def _gib(size: int | None) -> str:
    if size is None:
        return "?"
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def totals(users: list[dict]) -> dict:
    def total(key: str) -> int:
        return sum(user[key] or 0 for user in users)

    return {
        "users": len(users),
        "schema_size": total("schema_size"),
        "bucket_size": total("bucket_size"),
        "mlflow_runs": total("mlflow_runs"),
        "zenml_runs": total("zenml_runs"),
    }


def guarded(errors: list[str], what: str, call: Callable[[], Any], default: Any, describe: Callable[[Exception], str]):
    """``call()``, or ``default`` with ``what: <why>`` appended to ``errors`` when it raises.

    Whatever one source raises is reported, so that the other sources still make a report.
    """
    try:
        return call()
    except Exception as exc:
        errors.append(f"{what}: {describe(exc)}")
        return default


def describe(exc: Exception, params: dict) -> str:
    """What went wrong reading one source, with what to check."""
    if isinstance(exc, MySQLError):
        return error_message(exc, params)
    if isinstance(exc, MinioAdminException):
        return _admin_error_message(exc)
    if isinstance(exc, S3Error):
        return _s3_error_message(exc)
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return (
            f"cannot talk to MinIO at {params.get('endpoint')} ({exc}); check endpoint and that the server is running"
        )
    if isinstance(exc, engine.DockerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- one run ----------------------------------------------------------------------------------------


def _database_part(
    open_db: Callable[[], Session], options: dict, errors: list[str], describe: Callable[[Exception], str]
) -> dict:
    """Everything the database tells, each query guarded on its own."""
    part: dict[str, Any] = {"users": [], "schemas": {}, "mlflow": {}, "zenml": {}, "versions": {}}
    session = guarded(errors, "database", open_db, None, describe)
    if session is None:
        return part
    try:
        part["versions"]["database"] = guarded(
            errors, "database", lambda: session.value("SELECT VERSION()"), None, describe
        )
        part["users"] = guarded(
            errors, "registry", lambda: registry_users(session, options["registry_schema"]), [], describe
        )
        part["schemas"] = guarded(
            errors, "schema sizes", lambda: schema_sizes(session, options["schema_prefix"]), {}, describe
        )
        wanted = [user_resources(name, options["schema_prefix"])["mysql_schema"] for name, _ in part["users"]]
        present = [schema for schema in wanted if schema in part["schemas"]]
        part["mlflow"] = guarded(errors, "MLflow runs", lambda: mlflow_runs(session, present), {}, describe)
        # A server deployed without ZenML has its schema but none of its tables.
        if "zenml-server" in options["services"]:
            part["zenml"] = guarded(
                errors, "ZenML runs", lambda: zenml_runs(session, options["zenml_schema"]), {}, describe
            )
            part["versions"]["zenml-server"] = guarded(
                errors, "ZenML version", lambda: zenml_version(session, options["zenml_schema"]), None, describe
            )
    finally:
        session.close()
    return part


def _minio_part(
    clients: MinioClients, buckets: list[str], options: dict, errors: list[str], describe: Callable[[Exception], str]
) -> tuple[dict, dict, str | None]:
    before = len(errors)
    figures, usage = guarded(
        errors,
        "MinIO buckets",
        lambda: bucket_figures(clients, buckets, options["bucket_usage"]),
        ({}, {"source": options["bucket_usage"], "scanner_updated_at": None, "listed": []}),
        describe,
    )
    # An unreachable MinIO is reported once, not once per request.
    reachable = len(errors) == before
    version = guarded(errors, "MinIO version", lambda: minio_version(clients), None, describe) if reachable else None
    return figures, usage, version


def _docker_part(docker: Any, options: dict, errors: list[str], describe: Callable[[Exception], str]) -> dict:
    part: dict[str, Any] = {"daemon": {}, "services": []}
    part["daemon"] = guarded(errors, "Docker", lambda: engine.daemon(docker), {}, describe)
    if not part["daemon"]:
        return part
    inspected = guarded(
        errors, "Docker containers", lambda: engine.stack_containers(docker, options["stack"]), [], describe
    )
    now = now_utc()
    facts = [engine.container_facts(item, now) for item in inspected]
    running = [row["id"] for row in facts if row["state"] == "running"]
    usage = guarded(
        errors,
        "container usage",
        lambda: engine.sample_usage(docker, running, options["cpu_sample_seconds"]),
        {},
        describe,
    )
    names = {name for row in facts for name in row["volumes"]}
    volumes = guarded(errors, "Docker volumes", lambda: engine.volume_sizes(docker, names), {}, describe)
    part["services"] = service_rows(facts, usage, volumes)
    return part


def collect(
    options: dict,
    docker: Any,
    open_db: Callable[[], Session],
    clients: MinioClients,
    describe: Callable[[Exception], str],
) -> dict:
    """The whole report: Docker, services, users, totals and problems."""
    errors: list[str] = []
    docker_part = _docker_part(docker, options, errors, describe)
    database = _database_part(open_db, options, errors, describe)
    buckets = [user_resources(name)["bucket"] for name, _ in database["users"]]
    figures, usage, minio = _minio_part(clients, buckets, options, errors, describe)
    versions = {**database["versions"], "minio": minio}
    services = [{**row, "version": versions.get(row["service"]) or row["version"]} for row in docker_part["services"]]
    users = user_rows(
        database["users"], options["schema_prefix"], database["schemas"], database["mlflow"], database["zenml"], figures
    )
    report = {
        "stack": options["stack"],
        "generated_at": now_utc().isoformat(timespec="seconds"),
        "docker": docker_part["daemon"],
        "services": services,
        "users": users,
        "totals": totals(users),
        "bucket_usage": usage,
        "thresholds": {"min_free_disk": options["min_free_disk"], "quota_percent": options["quota_percent"]},
        "errors": errors,
    }
    report["problems"] = problems(report, options["services"], options["min_free_disk"], options["quota_percent"])
    report["ok"] = not report["problems"]
    return report
