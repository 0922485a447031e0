"""Users' MLflow schemas on the deployed stack: ready when provisioned, upgraded when MLflow changes.

A provisioned user's schema is a copy of the template the job image's MLflow migrated. Checked from
outside: its definitions equal the template's and, but for the order of indexes, a schema that MLflow's
migrations built on their own; the job image's `mlflow server` starts on it without migrating, logged
in as the user, and records a run. A schema that MLflow's own Alembic migrations left at an older
revision, holding a run, is upgraded with its data by the next provisioning, and so is an outdated
template.

Containers of the job image run on the stack's network, named and labelled after the stack, and are
removed at the end. MLOPS_TEST_JOB_IMAGE picks another job image than the scenario's mlops_job_image.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from deployed_stack import DeployedStack
from mlflow_scripts import OLD_SCHEMA

RUN = uuid.uuid4().hex[:5]
FRESH, OLDIE, LATE = f"msfresh{RUN}", f"msold{RUN}", f"mslate{RUN}"
TEMPLATE = "mlflow_template"
# Revisions below MLflow's head at which the outdated schemas are built: migrations that alter tables
# holding the run's rows run on the way up.
STEPS_BACK = 8
DEFINER = re.compile(r"DEFINER=`[^`]*`@`[^`]*` ")
MIGRATION_LOGS = re.compile(r"Creating initial MLflow database tables|Updating database tables|Running upgrade")


# Where the runner mounts the server's CA into jobs (roles/gitlab_runner/vars/main.yml).
JOB_CA = "/etc/ssl/certs/onprem-mlops-ca.crt"


@pytest.fixture(scope="module")
def provision(stack, image):
    """manage_users.yml add with the job image under test; removes everyone it added at the end."""
    added: dict[str, None] = {}

    def add(name: str, **extra_vars: object):
        added[name] = None
        started = time.monotonic()
        run = stack.manage_users("add", username=name, role="developer", mlops_job_image=image, **extra_vars)
        assert run.returncode == 0, run.tail()
        return run, time.monotonic() - started

    yield add
    for name in added:
        stack.manage_users("remove", username=name, confirm="yes")


def docker(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """The docker CLI; secrets go in ``env`` and reach containers as ``-e NAME``, never on a command line."""
    return subprocess.run(
        ["docker", *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, check=check, timeout=600
    )


def job_container(stack: DeployedStack, image: str, name: str, env: dict[str, str], *command: str) -> list[str]:
    names = [argument for key in env for argument in ("-e", key)]
    network = stack.vars["mlops_network_name"]
    label = f"org.onprem-mlops.stack={stack.vars['mlops_stack_name']}"
    # People's accounts REQUIRE SSL: the server's CA where the runner mounts it into jobs.
    ca = ["-v", f"{stack.ca_file}:{JOB_CA}:ro"] if stack.ca_file else []
    return ["--name", f"{network}-test-{name}", "--network", network, "--label", label, *ca, *names, image, *command]


def root_env(stack: DeployedStack) -> dict[str, str]:
    return {
        "MLOPS_DB_HOST": "database",
        "MLOPS_DB_USER": "root",
        "MLOPS_DB_PASSWORD": stack.secrets["database_root_password"],
    }


def migrate(stack: DeployedStack, image: str, schema: str) -> dict:
    """mlops-migrate-schemas on ``schema``, which is created empty first."""
    stack.root_query(f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4")
    result = docker(
        "run",
        "--rm",
        *job_container(stack, image, schema, root_env(stack), "mlops-migrate-schemas", schema),
        env=root_env(stack),
    )
    return json.loads(result.stdout.splitlines()[-1])


def build_old_schema(stack: DeployedStack, image: str, schema: str) -> str:
    """``schema`` (re)built by MLflow's migrations up to STEPS_BACK revisions below the head; returns its revision."""
    stack.root_query(f"DROP DATABASE IF EXISTS `{schema}`")
    stack.root_query(f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4")
    env = {**root_env(stack), "SCHEMA": schema, "STEPS_BACK": str(STEPS_BACK)}
    result = docker("run", "--rm", *job_container(stack, image, schema, env, "python", "-c", OLD_SCHEMA), env=env)
    return result.stdout.split()[-1]


def revision(stack: DeployedStack, schema: str) -> str:
    return stack.root_query(f"SELECT version_num FROM `{schema}`.alembic_version")[0][0]


def definitions(stack: DeployedStack, schema: str, index_order: bool = True) -> dict[str, object]:
    """Every table, trigger and view of ``schema`` as the server prints it, and the rows MLflow seeds."""
    found: dict[str, object] = {}
    for table, kind in stack.root_query(f"SHOW FULL TABLES FROM `{schema}`"):
        create = stack.root_query(f"SHOW CREATE {'VIEW' if kind == 'VIEW' else 'TABLE'} `{schema}`.`{table}`")[0][1]
        found[table] = create if index_order else _unordered_indexes(create)
    for (trigger,) in stack.root_query(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (schema,)
    ):
        mode, create, client, collation = stack.root_query(f"SHOW CREATE TRIGGER `{schema}`.`{trigger}`")[0][1:5]
        # A copy's trigger is defined by the schema's owner (it runs with its definer's rights), the template's by root.
        found[f"trigger {trigger}"] = (mode, DEFINER.sub("", create), client, collation)
    found["alembic_version rows"] = stack.root_query(f"SELECT * FROM `{schema}`.alembic_version")
    found["workspaces rows"] = stack.root_query(f"SELECT * FROM `{schema}`.workspaces")
    return found


def _unordered_indexes(create: str) -> tuple:
    """A CREATE TABLE with its index and constraint lines as a set: MLflow's migrations do not fix their order."""
    lines = [line.rstrip(",") for line in create.splitlines()]
    keyed = {line for line in lines if re.match(r"\s+(PRIMARY KEY|UNIQUE KEY|KEY|CONSTRAINT) ", line)}
    return tuple(line for line in lines if line not in keyed), frozenset(keyed)


@contextmanager
def mlflow_server(stack: DeployedStack, image: str, user: dict[str, str]) -> Iterator[tuple[str, float, str]]:
    """The job image's tracking server on ``user``'s schema with their own login: (URL, seconds to /health, logs)."""
    name = f"mlflow-{user['MYSQL_USER']}"
    login = f"{quote(user['MYSQL_USER'])}:{quote(user['MYSQL_PASSWORD'], safe='')}"
    uri = f"mysql+pymysql://{login}@database:3306/{user['MYSQL_DATABASE']}"
    if stack.ca_file:
        uri += f"?ssl_ca={JOB_CA}"
    env = {"MLFLOW_BACKEND_STORE_URI": uri, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    command = ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000", "--workers", "1"]
    container = job_container(stack, image, name, env, *command)
    started = time.monotonic()
    docker("run", "-d", "-p", "127.0.0.1::5000", *container, env=env)
    try:
        port = docker("port", container[1], "5000").stdout.split(":")[-1].strip()
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            state = docker("inspect", "-f", "{{.State.Running}}", container[1]).stdout.strip()
            assert state == "true" and time.monotonic() - started < 180, docker("logs", container[1]).stderr[-3000:]
            time.sleep(0.2)
        ready = time.monotonic() - started
        logs = docker("logs", container[1])
        yield url, ready, logs.stdout + logs.stderr
    finally:
        docker("rm", "-f", container[1], check=False)


def api(url: str, method: str, path: str, **body: object) -> dict:
    call = requests.post if method == "POST" else requests.get
    response = call(
        f"{url}/api/2.0/mlflow/{path}", **({"json": body} if method == "POST" else {"params": body}), timeout=30
    )
    assert response.ok, response.text
    return response.json()


def test_a_provisioned_schema_is_ready_for_mlflow(stack, image, provision, capsys):
    _, seconds = provision(FRESH)
    schema = f"mlflow_{FRESH}"
    assert definitions(stack, schema) == definitions(stack, TEMPLATE)
    definers = stack.root_query("SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (schema,))
    assert definers and all(definer == f"{FRESH}@%" for (definer,) in definers)

    reference = f"msmigrated{RUN}"
    try:
        migrated = migrate(stack, image, reference)
        assert migrated["to"] == revision(stack, schema)
        assert definitions(stack, schema, index_order=False) == definitions(stack, reference, index_order=False)
    finally:
        stack.root_query(f"DROP DATABASE IF EXISTS `{reference}`")

    user = stack.user_env(FRESH)
    with mlflow_server(stack, image, user) as (url, ready, logs):
        assert not MIGRATION_LOGS.search(logs), logs[-3000:]
        experiment = api(url, "POST", "experiments/create", name=f"probe-{RUN}")["experiment_id"]
        run = api(url, "POST", "runs/create", experiment_id=experiment, start_time=int(time.time() * 1000))["run"]
        run_id = run["info"]["run_id"]
        api(url, "POST", "runs/log-parameter", run_id=run_id, key="alpha", value="0.5")
        api(url, "POST", "runs/log-metric", run_id=run_id, key="rmse", value=0.25, timestamp=1, step=0)
        data = api(url, "GET", "runs/get", run_id=run_id)["run"]["data"]
    assert data["params"] == [{"key": "alpha", "value": "0.5"}]
    assert [(metric["key"], metric["value"]) for metric in data["metrics"]] == [("rmse", 0.25)]
    with stack.mysql(user["MYSQL_USER"], user["MYSQL_PASSWORD"], user["MYSQL_DATABASE"]) as own, own.cursor() as cursor:
        cursor.execute("SELECT `key`, value FROM params WHERE run_uuid = %s", (run_id,))
        assert cursor.fetchall() == (("alpha", "0.5"),)
    with capsys.disabled():
        print(
            f"\nadd with a copied schema: {seconds:.1f} s; one schema migrated from empty: {migrated['seconds']} s; "
            f"mlflow server on the copy ready in {ready:.1f} s"
        )


def _log_old_run(stack: DeployedStack, schema: str) -> str:
    """A run with a parameter and a metric, written as an older MLflow's tables take it."""
    run_id = uuid.uuid4().hex

    def insert(table: str, row: dict[str, object]) -> None:
        columns = ", ".join(f"`{column}`" for column in row)
        marks = ", ".join(["%s"] * len(row))
        stack.root_query(f"INSERT INTO `{schema}`.`{table}` ({columns}) VALUES ({marks})", tuple(row.values()))

    insert("experiments", {"name": f"old-{RUN}", "artifact_location": "/tmp", "lifecycle_stage": "active"})
    experiment = stack.root_query(f"SELECT experiment_id FROM `{schema}`.experiments WHERE name = %s", (f"old-{RUN}",))
    run = {"run_uuid": run_id, "name": "old-run", "experiment_id": experiment[0][0], "lifecycle_stage": "active"}
    insert(
        "runs",
        {
            **run,
            "status": "FINISHED",
            "start_time": 1,
            "source_type": "LOCAL",
            "artifact_uri": "/tmp",
            "user_id": "old",
        },
    )
    insert("params", {"key": "alpha", "value": "0.1", "run_uuid": run_id})
    metric = {"key": "rmse", "value": 0.5, "timestamp": 1, "step": 0, "is_nan": 0, "run_uuid": run_id}
    insert("metrics", metric)
    insert("latest_metrics", metric)
    return run_id


def test_outdated_schemas_are_upgraded_by_the_next_run(stack, image, provision, capsys):
    provision(OLDIE)
    schema, head = f"mlflow_{OLDIE}", revision(stack, f"mlflow_{OLDIE}")
    old = build_old_schema(stack, image, schema)
    assert old != head
    run_id = _log_old_run(stack, schema)
    # An outdated template under another name, so that provisioning elsewhere on the stack meanwhile never
    # copies a template being rebuilt.
    template = f"mstemplate{RUN}"
    assert build_old_schema(stack, image, template) == old
    try:
        run, seconds = provision(LATE, users_mlflow_template_schema=template)
        assert revision(stack, schema) == head and revision(stack, template) == head
        assert revision(stack, f"mlflow_{LATE}") == head
        assert schema in run.stdout.partition("Migrated to")[2], run.tail()
        again, _ = provision(LATE, users_mlflow_template_schema=template)
        assert again.changed == 0, again.tail()
    finally:
        stack.root_query(f"DROP DATABASE IF EXISTS `{template}`")

    with mlflow_server(stack, image, stack.user_env(OLDIE)) as (url, _, logs):
        assert not MIGRATION_LOGS.search(logs), logs[-3000:]
        data = api(url, "GET", "runs/get", run_id=run_id)["run"]["data"]
    assert data["params"] == [{"key": "alpha", "value": "0.1"}]
    assert [(metric["key"], metric["value"]) for metric in data["metrics"]] == [("rmse", 0.5)]
    with capsys.disabled():
        print(f"\nadd that upgraded the template and a schema from {old} to {head}: {seconds:.1f} s")
