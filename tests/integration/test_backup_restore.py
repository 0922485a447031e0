"""A round trip through backup.yml, teardown.yml and restore.yml on a stack of its own (issue 10, items 2, 3, 5).

The stack `it-backup` is deployed once for the module; two students are provisioned and one of them runs the
demo pipeline through the CI template (gitlab-ci-local, on the stack's jobs network, as in tests/e2e), and
writes objects (with metadata) into their bucket and an MLflow experiment and run into their schema with their
own credentials. The tests then run in file order: back up, tear down with the volumes (a final backup first), lose
the control node's server credentials, restore, and prove the data came back: byte-identical objects with their
metadata, identical row counts and CHECKSUM TABLE in every schema, the same accounts, the student's data
reachable with their OLD credentials, the other student still shut out, and run_server.yml at 0 changed.
Needs root and the local images. MLOPS_TEST_BACKUP_STACK, _PORTS (four, comma-separated) choose another stack
name and ports than it-backup and 24306,24900,24901,24080; MLOPS_TEST_BACKUP_VARS (a JSON object) adds
inventory settings, e.g. {"mlops_tls_certificates": "none"}.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import pymysql
import pytest
import requests
import urllib3
import yaml
from minio import Minio
from minio.error import S3Error

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from docker_networks import free_subnet
from playbook_runs import run_playbook
from student_job import ci_variables, run_demo, runner_config
from zenml_runs import create_pipeline_run

SCENARIO_VARS = REPO / "molecule" / "shared" / "group_vars" / "mlops_servers.yml"
STACK = os.environ.get("MLOPS_TEST_BACKUP_STACK", "it-backup")
PORT_VARS = ("database_port", "minio_api_port", "minio_console_port", "zenml_server_port")
_PORT_LIST = os.environ.get("MLOPS_TEST_BACKUP_PORTS", "24306,24900,24901,24080").split(",")
PORTS = dict(zip(PORT_VARS, map(int, _PORT_LIST), strict=True))
STUDENTS = ("bkalice", "bkbob")
# What the demo (extras/demo) records: its MLflow experiment and registered model, its ZenML pipeline.
DEMO_PIPELINE = "training_pipeline"
DEMO_MODEL = "breast-cancer-classifier"
LABEL = f"label=org.onprem-mlops.stack={STACK}"
# Schemas whose tables change by themselves (statistics, logs) or that the server rebuilds.
SKIPPED_SCHEMAS = {"information_schema", "performance_schema", "sys", "mysql"}
# Columns the servers write by themselves: ZenML notes every request's time in its settings row.
VOLATILE = {"`zenml`.`server_settings`": "last_user_activity"}
# Accounts whose hosts follow the Docker networks' addresses (new networks after a teardown, new hosts).
ADMIN_ACCOUNTS = ("root", "zenml")


def _sh(*command: str, check: bool = True, stdin: str | None = None) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, check=False, input=stdin)
    if check:
        assert completed.returncode == 0, f"{' '.join(command)}: {completed.stderr}"
    return completed.stdout


@dataclass
class Run:
    returncode: int
    output: str

    @property
    def changed(self) -> int:
        counts = re.findall(r"changed=(\d+)", self.output)
        return int(counts[-1]) if counts else -1

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class BackupStack:
    directory: Path
    variables: dict
    before: dict = field(default_factory=dict)
    secrets_before: dict = field(default_factory=dict)

    @property
    def credentials(self) -> Path:
        return Path(self.variables["mlops_credentials_dir"])

    def playbook(self, playbook: str, *args: str, **extra_vars: object) -> Run:
        arguments = ["-i", str(self.directory / "hosts.yml"), f"playbooks/{playbook}", *args]
        if extra_vars:
            arguments += ["-e", json.dumps(extra_vars)]
        completed = run_playbook(arguments, timeout=1200, stdin=subprocess.DEVNULL)
        return Run(completed.returncode, completed.stdout + completed.stderr)

    def env(self, name: str) -> dict[str, str]:
        lines = (self.credentials / f"{name}.env").read_text(encoding="utf-8").splitlines()
        values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
        return {key: value.replace("${PWD}", str(self.credentials)) for key, value in values.items()}

    def ca_file(self, name: str) -> str | None:
        ca = self.env(name).get("MLOPS_CA_FILE")
        return ca if ca and Path(ca).exists() else None

    # --- clients, as the student's .env says ----------------------------------------------------------
    def mysql(self, name: str) -> pymysql.Connection:
        env = self.env(name)
        ca = self.ca_file(name)
        return pymysql.connect(
            host="127.0.0.1",
            port=self.variables["database_port"],
            user=env["MYSQL_USER"],
            password=env["MYSQL_PASSWORD"],
            database=env.get("MYSQL_DATABASE"),
            ssl={"ca": ca} if ca else None,
            connect_timeout=10,
            autocommit=True,
        )

    def s3(self, name: str) -> Minio:
        env = self.env(name)
        ca = self.ca_file(name)
        http = urllib3.PoolManager(cert_reqs=ssl.CERT_REQUIRED, ca_certs=ca) if ca else None
        return Minio(
            f"127.0.0.1:{self.variables['minio_api_port']}",
            access_key=env["AWS_ACCESS_KEY_ID"],
            secret_key=env["AWS_SECRET_ACCESS_KEY"],
            secure=bool(ca),
            http_client=http,
        )

    def zenml_login(self, name: str) -> requests.Response:
        env = self.env(name)
        ca = self.ca_file(name)
        scheme = "https" if ca else "http"
        return requests.post(
            f"{scheme}://127.0.0.1:{self.variables['zenml_server_port']}/api/v1/login",
            data={"username": env["ZENML_USERNAME"], "password": env["ZENML_PASSWORD"]},
            verify=ca or True,
            timeout=20,
        )

    def zenml_api(self, name: str) -> tuple[requests.Session, str]:
        """A logged-in REST session of ``name`` through the address of their .env, and the API's base URL."""
        login = self.zenml_login(name)
        login.raise_for_status()
        session = requests.Session()
        # Else REQUESTS_CA_BUNDLE from the environment would replace the session's CA (a requests quirk).
        session.trust_env = False
        session.verify = self.ca_file(name) or True
        session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        return session, login.url.rsplit("/login", 1)[0]

    def zenml_runs(self, name: str) -> list[dict]:
        """Every pipeline run ``name`` can list, in every project they see, with its pipeline's name."""
        session, base = self.zenml_api(name)
        answer = session.get(f"{base}/runs", params={"size": 1000, "hydrate": True}, timeout=30)
        answer.raise_for_status()
        return answer.json()["items"]

    def zenml_run_names(self, name: str) -> set[str]:
        return {run["name"] for run in self.zenml_runs(name)}

    def demo_runs(self, name: str) -> list[tuple[str, str]]:
        """(run name, status) of the demo pipeline's runs ``name`` sees."""
        return sorted(
            (run["name"], run["body"]["status"])
            for run in self.zenml_runs(name)
            if (run["resources"].get("pipeline") or {}).get("name") == DEMO_PIPELINE
        )

    # --- the administrator's view, from inside the containers ----------------------------------------
    def root_sql(self, sql: str) -> list[list[str]]:
        script = (
            'umask 077; printf "[client]\\nuser=root\\npassword=\\"%s\\"\\n" '
            '"${MARIADB_ROOT_PASSWORD:-$MYSQL_ROOT_PASSWORD}" > /tmp/.it.cnf; '
            "mariadb --defaults-extra-file=/tmp/.it.cnf -N -B; rc=$?; rm -f /tmp/.it.cnf; exit $rc"
        )
        output = _sh("docker", "exec", "-i", f"{STACK}-database", "sh", "-c", script, stdin=sql)
        return [line.split("\t") for line in output.splitlines()]

    def database_state(self) -> dict[str, object]:
        tables = self.root_sql(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            f"AND table_schema NOT IN ({', '.join(repr(s) for s in SKIPPED_SCHEMAS)}) ORDER BY 1, 2"
        )
        names = [f"`{schema}`.`{table}`" for schema, table in tables]
        steady = [name for name in names if name not in VOLATILE]
        checksums = {row[0]: row[1] for row in self.root_sql(f"CHECKSUM TABLE {', '.join(steady)} EXTENDED")}
        for name, column in VOLATILE.items():
            if name in names:
                rows = self.root_sql(f"SELECT * FROM {name} ORDER BY 1")
                header = [r[0] for r in self.root_sql(f"SHOW COLUMNS FROM {name}")]
                kept = [[v for c, v in zip(header, row, strict=True) if c != column] for row in rows]
                checksums[name] = hashlib.sha256(json.dumps(kept).encode()).hexdigest()
        counts = self.root_sql(" UNION ALL ".join(f"SELECT '{n}', COUNT(*) FROM {n}" for n in names))
        accounts = self.root_sql("SELECT user, host FROM mysql.user")
        return {
            "checksums": checksums,
            "rows": {name: count for name, count in counts},
            "accounts": sorted(tuple(row) for row in accounts if row[0] not in ADMIN_ACCOUNTS),
            "admin_accounts": sorted({row[0] for row in accounts if row[0] in ADMIN_ACCOUNTS}),
            "grants": {
                f"{user}@{host}": sorted(r[0] for r in self.root_sql(f"SHOW GRANTS FOR '{user}'@'{host}'"))
                for user, host in self.root_sql("SELECT user, host FROM mysql.user WHERE user LIKE 'bk%'")
            },
        }

    def objects(self) -> dict[str, dict[str, object]]:
        """Every object of both students' buckets: its SHA-256, content type and user metadata."""
        result = {}
        for name in STUDENTS:
            client = self.s3(name)
            for bucket in (b.name for b in client.list_buckets()):
                for item in client.list_objects(bucket, recursive=True):
                    response = client.get_object(bucket, item.object_name)
                    try:
                        digest = hashlib.sha256(response.read()).hexdigest()
                        headers = {k.lower(): v for k, v in response.headers.items()}
                    finally:
                        response.close()
                        response.release_conn()
                    meta = {k: v for k, v in headers.items() if k.startswith("x-amz-meta-")}
                    result[f"{name}:{bucket}/{item.object_name}"] = {
                        "sha256": digest,
                        "type": headers.get("content-type"),
                        "meta": meta,
                    }
        return result

    def docker_objects(self) -> list[str]:
        return (
            _sh("docker", "ps", "-aq", "--filter", LABEL).split()
            + _sh("docker", "volume", "ls", "-q", "--filter", LABEL).split()
            + _sh("docker", "network", "ls", "-q", "--filter", LABEL).split()
        )


def _remove_stack() -> None:
    _sh(str(REPO / "scripts" / "remove-stack.sh"), STACK, check=False)
    for path in (Path("/opt") / STACK, Path("/opt") / f"onprem-{STACK}", Path("/etc") / STACK):
        shutil.rmtree(path, ignore_errors=True)
    for path in (Path("/var/lib") / f"{STACK}-backup", Path("/var/lib") / f"{STACK}-restore"):
        shutil.rmtree(path, ignore_errors=True)
    Path(f"/usr/local/sbin/{STACK}-backup").unlink(missing_ok=True)


def _write_student_data(stack: BackupStack) -> None:
    """Objects with metadata in bkalice's bucket, an MLflow experiment, run and metric in her schema."""
    env = stack.env("bkalice")
    client = stack.s3("bkalice")
    bucket = next(b.name for b in client.list_buckets() if "bkalice" in b.name)
    for index, size in enumerate((0, 1, 4096, 3 * 1024 * 1024)):
        client.put_object(
            bucket,
            f"runs/{index}/artifact.bin",
            BytesIO(os.urandom(size)),
            size,
            content_type="application/x-test",
            metadata={"x-amz-meta-origin": f"backup-test-{index}"},
        )
    run_id = uuid.uuid4().hex
    with stack.mysql("bkalice") as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)"
            " VALUES (%s, %s, 'active', 1, 1)",
            ("backup-test", f"s3://{bucket}/mlflow"),
        )
        experiment = cursor.lastrowid
        cursor.execute(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status,"
            " start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)"
            " VALUES (%s, 'backup-run', 'LOCAL', '', '', %s, 'FINISHED', 1, 2, '', 'active', %s, %s)",
            (run_id, env["MYSQL_USER"], f"s3://{bucket}/mlflow/{run_id}", experiment),
        )
        cursor.execute(
            "INSERT INTO metrics (`key`, value, timestamp, run_uuid, step, is_nan)"
            " VALUES ('accuracy', 0.93, 1, %s, 0, 0)",
            (run_id,),
        )
    _write_zenml_run(stack, "bkalice")


def _write_zenml_run(stack: BackupStack, name: str) -> None:
    """A pipeline run in the student's own ZenML project (pipeline, snapshot, run, as the SDK makes them)."""
    create_pipeline_run(*stack.zenml_api(name), name)


def _run_demo_through_the_template(stack: BackupStack) -> None:
    """bkalice's demo pipeline on the stack's jobs network, with her CI/CD variables, as the runner runs it."""
    (stack.directory / "runner").mkdir()
    config = runner_config(stack.variables, stack.directory / "runner")
    result = run_demo(config, ci_variables(stack.env("bkalice")), mount_cache=False)
    assert result.returncode == 0, f"the demo job failed ({result.duration:.0f} s):\n{result.output[-6000:]}"


@pytest.fixture(scope="module")
def bk_stack() -> Iterator[BackupStack]:
    if os.geteuid() != 0:
        pytest.skip("restic, Docker volumes and iptables need root")
    # Not under pytest's basetemp: another pytest session on this machine may prune it while the stack lives.
    directory = Path(tempfile.mkdtemp(prefix=f"{STACK}-"))
    variables = yaml.safe_load(SCENARIO_VARS.read_text(encoding="utf-8"))
    variables.update(
        mlops_stack_name=STACK,
        mlops_network_name=STACK,
        mlops_jobs_network_name=f"{STACK}-jobs",
        mlops_jobs_network_subnet=free_subnet("10.231.0.0/16"),
        mlops_credentials_dir=str(directory / "credentials"),
        mlops_backup_repository=str(directory / "restic"),
        python_env_path=f"/opt/onprem-{STACK}/venv",
        **PORTS,
        # The TLS front door's back ends, on loopback next to the public ports (their default, public + 10000,
        # may belong to another stack of this machine).
        minio_backend_api_port=PORTS["minio_api_port"] + 10,
        minio_backend_console_port=PORTS["minio_console_port"] + 10,
        zenml_server_backend_port=PORTS["zenml_server_port"] + 10,
    )
    variables.update(json.loads(os.environ.get("MLOPS_TEST_BACKUP_VARS", "{}")))
    (directory / "group_vars").mkdir()
    (directory / "group_vars" / "mlops_servers.yml").write_text(yaml.safe_dump(variables), encoding="utf-8")
    host = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts = {"all": {"children": {"mlops_servers": {"hosts": {f"{STACK}-server": host}}}}}
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    (directory / "roster.csv").write_text("username,role\n" + "".join(f"{s},developer\n" for s in STUDENTS))
    stack = BackupStack(directory, variables)
    try:
        _remove_stack()  # what a run killed before its clean-up left
        deployed = stack.playbook("run_server.yml")
        assert deployed.returncode == 0, deployed.tail()
        synced = stack.playbook("manage_users.yml", "--tags", "sync", roster=str(directory / "roster.csv"))
        assert synced.returncode == 0, synced.tail()
        _run_demo_through_the_template(stack)
        _write_student_data(stack)
        yield stack
    finally:
        _remove_stack()
        shutil.rmtree(directory, ignore_errors=True)


def test_backup_takes_a_snapshot_while_serving(bk_stack: BackupStack) -> None:
    bk_stack.before = {"database": bk_stack.database_state(), "objects": bk_stack.objects()}
    assert any(key.startswith("bkalice:") for key in bk_stack.before["objects"])
    assert any("mlflow_bkalice" in table for table in bk_stack.before["database"]["rows"])
    backup = bk_stack.playbook("backup.yml")
    assert backup.returncode == 0, backup.tail()
    assert re.search(r"Snapshot [0-9a-f]{8,64} in ", backup.output)
    # The repository password exists once, 0600, and was printed nowhere.
    password_file = bk_stack.credentials / "backup" / "restic_password"
    assert oct(password_file.stat().st_mode & 0o777) == "0o600"
    assert password_file.read_text(encoding="utf-8").strip() not in backup.output
    assert bk_stack.before["database"] == bk_stack.database_state(), "the backup changed the database"


def test_teardown_refuses_without_confirmation(bk_stack: BackupStack) -> None:
    refused = bk_stack.playbook("teardown.yml")
    assert refused.returncode != 0
    assert "Run again with -e confirm=yes" in refused.output
    assert len(bk_stack.docker_objects()) > 0


def test_teardown_leaves_nothing_of_the_stack(bk_stack: BackupStack) -> None:
    teardown = bk_stack.playbook("teardown.yml", confirm="yes")
    assert teardown.returncode == 0, teardown.tail()
    assert bk_stack.docker_objects() == []
    rules = _sh("iptables", "-w", "-S", "DOCKER-USER", check=False)
    assert f'"{STACK} jobs -> ' not in rules
    assert f'"{STACK} allow -> ' not in rules
    for path in (Path("/opt") / f"onprem-{STACK}", Path("/etc") / STACK, Path("/var/lib") / f"{STACK}-backup"):
        assert not path.exists(), path
    assert (bk_stack.directory / "restic" / "config").exists(), "teardown removed the repository"


def test_restore_brings_back_lost_credentials_and_data(bk_stack: BackupStack) -> None:
    server = bk_stack.credentials / "server"
    bk_stack.secrets_before = {p.name: p.read_bytes() for p in server.iterdir()}
    shutil.rmtree(server)  # the control node lost them (issue 10, item 6)
    restore = bk_stack.playbook("restore.yml")
    assert restore.returncode == 0, restore.tail()
    assert {p.name: p.read_bytes() for p in server.iterdir()} == bk_stack.secrets_before
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in server.iterdir())


def test_restore_refuses_to_overwrite_a_server_with_data(bk_stack: BackupStack) -> None:
    containers = _sh("docker", "ps", "-q", "--filter", LABEL).split()
    refused = bk_stack.playbook("restore.yml")
    assert refused.returncode != 0
    assert "holds data" in refused.output and f"{STACK}-database" in refused.output
    assert _sh("docker", "ps", "-q", "--filter", LABEL).split() == containers


def test_every_schema_is_identical(bk_stack: BackupStack) -> None:
    after = bk_stack.database_state()
    before = bk_stack.before["database"]
    assert after["rows"] == before["rows"]
    assert after["checksums"] == before["checksums"]
    assert after["accounts"] == before["accounts"]
    assert after["admin_accounts"] == before["admin_accounts"]
    assert after["grants"] == before["grants"]


def test_every_object_is_byte_identical_with_its_metadata(bk_stack: BackupStack) -> None:
    assert bk_stack.objects() == bk_stack.before["objects"]


def test_the_student_logs_in_with_old_credentials(bk_stack: BackupStack) -> None:
    with bk_stack.mysql("bkalice") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT r.name, m.value FROM runs r JOIN metrics m USING (run_uuid) WHERE r.name = 'backup-run'")
        assert cursor.fetchall() == (("backup-run", 0.93),)
        cursor.execute(
            "SELECT r.status FROM runs r JOIN experiments e USING (experiment_id) WHERE e.name = %s",
            (DEMO_PIPELINE,),
        )
        assert cursor.fetchall() == (("FINISHED",),)
        cursor.execute("SELECT version, status FROM model_versions WHERE name = %s", (DEMO_MODEL,))
        assert cursor.fetchall() == ((1, "READY"),)
    assert bk_stack.zenml_login("bkalice").status_code == 200
    assert "bkalice-run" in bk_stack.zenml_run_names("bkalice")
    assert [status for _name, status in bk_stack.demo_runs("bkalice")] == ["completed"]


def test_the_other_student_is_still_shut_out(bk_stack: BackupStack) -> None:
    alice_bucket = next(k.split(":", 1)[1].split("/", 1)[0] for k in bk_stack.before["objects"] if "bkalice" in k)
    with pytest.raises(S3Error) as denied:
        bk_stack.s3("bkbob").stat_object(alice_bucket, "runs/1/artifact.bin")
    assert denied.value.code == "AccessDenied"
    with pytest.raises(pymysql.err.OperationalError), bk_stack.mysql("bkbob") as connection:
        connection.cursor().execute("SELECT COUNT(*) FROM mlflow_bkalice.runs")
    assert bk_stack.zenml_login("bkbob").status_code == 200
    assert "bkalice-run" not in bk_stack.zenml_run_names("bkbob")
    assert bk_stack.demo_runs("bkbob") == []


def test_run_server_changes_nothing_after_a_restore(bk_stack: BackupStack) -> None:
    rerun = bk_stack.playbook("run_server.yml")
    assert rerun.returncode == 0, rerun.tail()
    assert rerun.changed == 0, rerun.tail(120)
