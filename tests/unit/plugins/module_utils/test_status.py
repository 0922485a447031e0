"""Unit tests of the server_status logic (_status.py) against fakes of Docker, the database and MinIO.

The fakes answer at the clients' boundary (the Docker Engine API's JSON, PyMySQL rows, the MinIO SDK's
calls) with the shapes the real services gave on a deployed stack; everything in between is the code
under test. They also count requests, to show that a class of 200 costs no more queries than a class of 2.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils import _status
from ansible_collections.onprem.mlops.plugins.module_utils._status_docker import DockerError
from minio.error import MinioAdminException
from pymysql.err import OperationalError

GIB = 1024**3
STARTED = "2026-12-01T10:00:00.123456789Z"
OPTIONS = {
    "stack": "st",
    "services": ["database", "minio", "zenml-server"],
    "registry_schema": "stack_management",
    "zenml_schema": "zenml",
    "schema_prefix": "mlflow_",
    "bucket_usage": "scanner",
    "min_free_disk": 5 * GIB,
    "quota_percent": 90.0,
    "cpu_sample_seconds": 0.0,
}


def inspect(service: str, status: str = "running", health: str | None = "healthy", volume: str | None = None) -> dict:
    """``docker inspect`` of a stack container, as Docker 20.10 answers it (only the fields read)."""
    state = {"Status": status, "Running": status == "running", "StartedAt": STARTED}
    if health:
        state["Health"] = {"Status": health}
    return {
        "Id": f"id-{service}",
        "Name": f"/st-{service}",
        "State": state,
        "RestartCount": 1,
        "Config": {"Image": f"onprem-mlops/{service}:1.2", "Labels": {"org.onprem-mlops.service": service}},
        "HostConfig": {"NanoCpus": 500_000_000, "Memory": 512 * 1024**2},
        "Mounts": [{"Type": "volume", "Name": volume}] if volume else [{"Type": "bind", "Source": "/etc/x"}],
    }


class FakeDocker:
    """The Engine API paths the module reads; stats answer empty, as on hosts where Docker cannot read them."""

    def __init__(self, containers: list[dict], free: int = 100 * GIB) -> None:
        self.containers = {item["Id"]: item for item in containers}
        self.free = free
        self.requests: list[str] = []

    def get(self, path: str, **params: object) -> object:
        self.requests.append(path)
        if path == "/info":
            return {"ServerVersion": "20.10.24", "ContainersRunning": 3, "ContainersStopped": 0, "DockerRootDir": "/d"}
        if path == "/containers/json":
            assert json.loads(params["filters"])["label"] == ["org.onprem-mlops.stack=st", "org.onprem-mlops.service"]
            return [{"Id": cid} for cid in self.containers]
        if path == "/system/df":
            return {"Volumes": [{"Name": "st-database-data", "UsageData": {"Size": 300}}]}
        if match := re.fullmatch(r"/containers/([^/]+)/json", path):
            return self.containers[match.group(1)]
        if re.fullmatch(r"/containers/([^/]+)/stats", path):
            return {"cpu_stats": {}, "precpu_stats": {}, "memory_stats": {}}
        raise AssertionError(f"unexpected GET {path}")


@dataclass
class Statvfs:
    f_blocks: int
    f_bavail: int
    f_frsize: int = 4096


class NoCgroups:
    def cpu_ns(self, container_id: str) -> None:
        return None

    def memory(self, container_id: str) -> None:
        return None


class FakeSession:
    """A PyMySQL session over a registry, MLflow schemas and ZenML's tables; counts the statements."""

    def __init__(self, users: dict[str, str], mlflow: dict[str, tuple], zenml: dict[str, tuple], dialect: str) -> None:
        self.users, self.mlflow, self.zenml, self.dialect = users, mlflow, zenml, dialect
        self.statements: list[str] = []
        self.closed = False

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        self.statements.append(sql)
        args = tuple(args)
        if sql.startswith("SET SESSION information_schema_stats_expiry"):
            assert self.dialect == "mysql", "MariaDB has no information_schema_stats_expiry"
            return []
        if sql == "SELECT VERSION()":
            return [("10.11.19-MariaDB" if self.dialect == "mariadb" else "8.4.3",)]
        if sql.startswith("SELECT username, role FROM `stack_management`.users"):
            return sorted(self.users.items())
        if "information_schema.schemata" in sql:
            return [(f"mlflow_{name}", 1000 + len(name)) for name in self.users] + [("mlflow_template", 5)]
        if sql.startswith("SELECT table_schema FROM information_schema.tables"):
            return [(schema,) for schema in args if schema.removeprefix("mlflow_") in self.mlflow]
        if " UNION ALL " in sql or sql.startswith("SELECT %s, CAST"):
            assert sql.count("SELECT") == len(args)
            return [(schema, *self.mlflow[schema.removeprefix("mlflow_")]) for schema in args]
        if "pipeline_run" in sql:
            return [(name, *self.zenml[name]) for name in self.zenml] + [("root", 0, None)]
        if "alembic_version" in sql:
            return [("0.98.0",)]
        raise AssertionError(f"unexpected statement {sql}")

    def value(self, sql: str, args: tuple = ()) -> object:
        rows = self.rows(sql, args)
        return rows[0][0] if rows else None

    def close(self) -> None:
        self.closed = True


@dataclass
class Listed:
    object_name: str
    size: int
    is_latest: str | None = "true"
    is_delete_marker: bool = False


@dataclass
class Bucket:
    name: str


class FakeAdmin:
    def __init__(self, usage: dict[str, int], quotas: dict[str, int]) -> None:
        self.usage, self.quotas = usage, quotas
        self.requests: list[str] = []

    def get_data_usage_info(self) -> str:
        self.requests.append("data-usage")
        buckets = {name: {"size": size, "objectsCount": 2} for name, size in self.usage.items()}
        return json.dumps({"lastUpdate": "2026-12-03T22:07:47Z", "bucketsUsageInfo": buckets})

    def bucket_quota_get(self, bucket: str) -> str:
        self.requests.append(f"quota {bucket}")
        return json.dumps({"quota": self.quotas.get(bucket, 0), "quotatype": "hard"})

    def info(self) -> str:
        return json.dumps({"servers": [{"version": "2025-10-15T17:29:55Z"}]})


class FakeS3:
    def __init__(self, buckets: dict[str, list[Listed]]) -> None:
        self.buckets = buckets
        self.listed: list[str] = []

    def list_buckets(self) -> list[Bucket]:
        return [Bucket(name) for name in self.buckets]

    def list_objects(self, bucket: str, recursive: bool, include_version: bool) -> list[Listed]:
        self.listed.append(bucket)
        return self.buckets[bucket]


class FakeClients:
    def __init__(self, admin: FakeAdmin, s3: FakeS3) -> None:
        self.admin, self.s3 = admin, s3


@dataclass
class Stack:
    docker: FakeDocker
    session: FakeSession
    clients: FakeClients

    def collect(self, **options: object) -> dict:
        return _status.collect(
            {**OPTIONS, **options},
            self.docker,
            lambda: self.session,
            self.clients,
            lambda exc: _status.describe(exc, {"login_host": "127.0.0.1", "login_port": 3306, "endpoint": "m:9000"}),
        )


def make_stack(users: int = 2, dialect: str = "mariadb", containers: list[dict] | None = None, **kwargs) -> Stack:
    names = {f"user{index:03d}": "developer" for index in range(users)}
    names["teacher"] = "administrator"
    docker = FakeDocker(
        containers
        if containers is not None
        else [inspect("database", volume="st-database-data"), inspect("minio"), inspect("zenml-server")],
        free=kwargs.get("free", 100 * GIB),
    )
    mlflow = {name: (3, 1_764_800_000_000) for name in names}
    zenml = {name: (2, datetime(2026, 12, 3, 10, 0, 0)) for name in names}
    session = FakeSession(names, mlflow, zenml, dialect)
    objects = {name: [Listed("a", 100), Listed("b", 50, is_latest="false")] for name in names}
    objects["shared"] = []
    usage = {name: 150 for name in names}
    quotas = {name: 10 * GIB for name in names}
    usage.update(kwargs.get("usage", {}))
    quotas.update(kwargs.get("quotas", {}))
    return Stack(docker, session, FakeClients(FakeAdmin(usage, quotas), FakeS3(objects)))


@pytest.fixture(autouse=True)
def no_cgroups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_status.engine, "CgroupReader", NoCgroups)


def test_every_field_of_a_healthy_stack() -> None:
    report = make_stack().collect()
    assert report["ok"] and report["problems"] == [] and report["errors"] == []
    database = report["services"][0]
    assert database == {
        "service": "database",
        "container": "st-database",
        "state": "running",
        "health": "healthy",
        "image": "onprem-mlops/database:1.2",
        "version": "10.11.19-MariaDB",
        "started_at": "2026-12-01T10:00:00.123456+00:00",
        "uptime_seconds": database["uptime_seconds"],
        "restart_count": 1,
        "cpu_limit": 0.5,
        "memory_limit": 512 * 1024**2,
        "volumes": ["st-database-data"],
        "cpu_used": None,
        "cpu_percent": None,
        "memory_usage": None,
        "memory_percent": None,
        "volume_size": 300,
    }
    assert database["uptime_seconds"] > 0
    assert [row["version"] for row in report["services"]] == ["10.11.19-MariaDB", "2025-10-15T17:29:55Z", "0.98.0"]
    teacher = next(user for user in report["users"] if user["username"] == "teacher")
    assert teacher == {
        "username": "teacher",
        "role": "administrator",
        "schema": "mlflow_teacher",
        "schema_size": 1007,
        "bucket": "teacher",
        "bucket_size": 150,
        "bucket_objects": 2,
        "bucket_quota": 10 * GIB,
        "bucket_quota_percent": 0.0,
        "mlflow_runs": 3,
        "zenml_runs": 2,
        "last_activity": "2026-12-03T10:00:00+00:00",
    }
    assert report["totals"] == {"users": 3, "schema_size": 3 * 1000 + 7 + 7 + 7, "bucket_size": 450,
                                "mlflow_runs": 9, "zenml_runs": 6}  # fmt: skip
    assert report["docker"]["disk_free"] is None  # /d does not exist here


def test_last_activity_is_the_latest_of_mlflow_and_zenml() -> None:
    stack = make_stack(users=1)
    stack.session.mlflow["user000"] = (1, int(datetime(2026, 12, 4, 8, 30).timestamp() * 1000))
    stack.session.zenml["user000"] = (0, None)
    report = stack.collect()
    user = report["users"][1]
    assert (user["username"], user["zenml_runs"]) == ("user000", 0)
    assert user["last_activity"].startswith("2026-12-04")


@pytest.mark.parametrize("users", [2, 200])
def test_requests_do_not_grow_with_the_class(users: int) -> None:
    stack = make_stack(users=users)
    report = stack.collect()
    assert report["totals"]["users"] == users + 1
    assert len(stack.session.statements) == 7  # version, registry, sizes, runs-table probe, union, zenml, alembic
    assert len(stack.docker.requests) == 9  # info, list, df, an inspect and a stats fallback per container
    assert stack.clients.s3.listed == []
    assert [r for r in stack.clients.admin.requests if not r.startswith("quota")] == ["data-usage"]


def test_stats_endpoint_is_the_fallback_when_cgroups_cannot_be_read() -> None:
    stack = make_stack()
    stack.collect()
    assert sorted(path for path in stack.docker.requests if path.endswith("/stats")) == [
        "/containers/id-database/stats",
        "/containers/id-minio/stats",
        "/containers/id-zenml-server/stats",
    ]


def test_mysql_reads_fresh_table_sizes() -> None:
    stack = make_stack(dialect="mysql")
    stack.collect()
    assert "SET SESSION information_schema_stats_expiry = 0" in stack.session.statements


def test_a_bucket_over_the_threshold_is_a_problem() -> None:
    report = make_stack(usage={"user001": 95}, quotas={"user001": 100}).collect()
    assert not report["ok"]
    assert report["problems"] == ["user user001: bucket user001 holds 95 B of its 100 B quota (95%, threshold 90%)"]


@pytest.mark.parametrize(("size", "problem"), [(89, False), (90, True), (120, True)])
def test_quota_threshold_edge(size: int, problem: bool) -> None:
    report = make_stack(users=1, usage={"user000": size}, quotas={"user000": 100}).collect()
    assert (not report["ok"]) is problem


def test_a_bucket_without_quota_has_no_percentage() -> None:
    report = make_stack(users=1, quotas={"user000": 0}).collect()
    user = report["users"][1]
    assert (user["bucket_quota"], user["bucket_quota_percent"]) == (None, None)
    assert report["ok"]


@pytest.mark.parametrize(
    ("containers", "problem"),
    [
        pytest.param(
            [inspect("database"), inspect("minio", status="exited"), inspect("zenml-server")],
            "service minio: container st-minio is exited, not running",
            id="stopped",
        ),
        pytest.param(
            [inspect("database"), inspect("minio"), inspect("zenml-server", health="unhealthy")],
            "service zenml-server: container st-zenml-server is unhealthy",
            id="unhealthy",
        ),
        pytest.param(
            [inspect("database"), inspect("minio")],
            "service zenml-server: no container of the stack (deploy with run_server.yml)",
            id="missing",
        ),
    ],
)
def test_service_problems(containers: list[dict], problem: str) -> None:
    report = make_stack(containers=containers).collect()
    assert report["problems"] == [problem]
    stopped = [row for row in report["services"] if row["state"] != "running"]
    assert all(row["uptime_seconds"] is None for row in stopped)


def test_a_service_without_health_check_counts_when_running() -> None:
    report = make_stack(containers=[inspect("database"), inspect("minio"), inspect("zenml-server", health=None)])
    assert report.collect()["ok"]


def test_a_server_deployed_without_zenml_reads_none_of_its_tables() -> None:
    stack = make_stack(containers=[inspect("database"), inspect("minio")])
    report = stack.collect(services=["database", "minio"])
    assert report["ok"] and report["errors"] == []
    assert not [sql for sql in stack.session.statements if "zenml" in sql]
    assert [row["service"] for row in report["services"]] == ["database", "minio"]
    assert report["users"] and all(user["zenml_runs"] is None for user in report["users"])


def test_low_disk_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    daemon = _status.engine.daemon
    monkeypatch.setattr(
        _status.engine, "daemon", lambda api: daemon(api, statvfs=lambda path: Statvfs(f_blocks=1000, f_bavail=10))
    )
    report = make_stack().collect()
    assert report["docker"]["disk_total"] == 4096000 and report["docker"]["disk_free"] == 40960
    assert report["problems"] == ["disk: 40.0 KiB free under /d, below the threshold of 5.0 GiB"]


def test_scanner_lag_new_bucket_is_listed() -> None:
    stack = make_stack(users=1)
    del stack.clients.admin.usage["user000"]
    report = stack.collect()
    assert stack.clients.s3.listed == ["user000"]
    user = report["users"][1]
    assert (user["bucket_size"], user["bucket_objects"]) == (150, 1)
    assert report["bucket_usage"]["listed"] == ["user000"]


def test_listing_source_lists_every_users_bucket() -> None:
    stack = make_stack(users=2)
    report = stack.collect(bucket_usage="listing")
    assert sorted(stack.clients.s3.listed) == ["teacher", "user000", "user001"]
    assert "data-usage" not in stack.clients.admin.requests
    assert report["bucket_usage"] == {
        "source": "listing",
        "scanner_updated_at": None,
        "listed": stack.clients.s3.listed,
    }


def test_a_missing_bucket_and_schema_are_null() -> None:
    stack = make_stack(users=1)
    del stack.clients.s3.buckets["user000"]
    del stack.session.mlflow["user000"]
    stack.session.users["ghost"] = "developer"
    report = stack.collect()
    ghost = next(user for user in report["users"] if user["username"] == "ghost")
    assert ghost["bucket_size"] is None and ghost["bucket_quota"] is None and ghost["zenml_runs"] is None
    assert ghost["schema_size"] == 1005 and ghost["mlflow_runs"] == 0


def test_an_unreachable_database_is_reported_and_the_rest_still_counts() -> None:
    stack = make_stack()

    def refuse() -> None:
        raise OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1'")

    report = _status.collect(OPTIONS, stack.docker, refuse, stack.clients, lambda exc: _status.describe(exc, OPTIONS))
    assert report["users"] == [] and len(report["services"]) == 3
    assert len(report["problems"]) == 1
    assert report["problems"][0].startswith("database: Can't connect to MySQL server")
    assert "is reachable and the server is running" in report["problems"][0]


def test_a_minio_error_is_reported_once() -> None:
    stack = make_stack()

    def refused() -> str:
        raise MinioAdminException("403", json.dumps({"Code": "AccessDenied", "Message": "Access Denied."}))

    stack.clients.admin.get_data_usage_info = refused
    report = stack.collect()
    assert [problem.split(":")[0] for problem in report["problems"]] == ["MinIO buckets"]
    assert "check access_key and secret_key" in report["problems"][0]
    assert report["services"][1]["version"] == "1.2"  # the image's tag when MinIO cannot say


def test_an_unreachable_docker_is_reported() -> None:
    stack = make_stack()

    def down(path: str, **params: object) -> None:
        raise DockerError("cannot talk to the Docker daemon at unix:///x (refused); check that Docker runs")

    stack.docker.get = down
    report = stack.collect()
    assert report["services"] == [] and report["docker"] == {}
    assert (
        report["problems"][0]
        == "Docker: cannot talk to the Docker daemon at unix:///x (refused); check that Docker runs"
    )
    assert len(report["problems"]) == 4  # and each expected service is missing
    assert len(report["users"]) == 3


def test_the_session_is_closed() -> None:
    stack = make_stack()
    stack.collect()
    assert stack.session.closed


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), (0, "1970-01-01T00:00:00+00:00"), (datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05+00:00")],
)
def test_times_are_utc(value: object, expected: str | None) -> None:
    stamp = _status._as_utc(value)
    assert (stamp.isoformat() if stamp else None) == expected
