"""status.yml against the deployed stack: every field of the report, and a non-zero exit for a bucket over 90%
of its quota and for a stopped container.

Two developers are added; one gets objects, an MLflow run (rows in its schema, as MLflow writes them) and a
ZenML pipeline run (through ZenML's REST API, logged in as them); the other gets a 1 MiB quota and a bucket
filled to 95% of it. The stack is left as it was found: the users are removed and the stopped container
started again.
"""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from deployed_stack import REPO
from zenml_runs import create_pipeline_run

RUN = uuid.uuid4().hex[:5]
ALICE, BOB = f"stalice{RUN}", f"stbob{RUN}"
OBJECTS = {"data/train.csv": 2000, "data/test.csv": 500, "models/model.pkl": 7000}
SMALL_QUOTA = 1024 * 1024
FILL = int(SMALL_QUOTA * 0.95)
SERVICE_FIELDS = {
    "service", "container", "state", "health", "image", "version", "started_at", "uptime_seconds", "restart_count",
    "cpu_used", "cpu_limit", "cpu_percent", "memory_usage", "memory_limit", "memory_percent", "volumes", "volume_size",
}  # fmt: skip
USER_FIELDS = {
    "username", "role", "schema", "schema_size", "bucket", "bucket_size", "bucket_objects", "bucket_quota",
    "bucket_quota_percent", "mlflow_runs", "zenml_runs", "last_activity",
}  # fmt: skip
# A pass of MinIO's usage scanner takes about a minute on the CI stack.
SCANNER_WAIT = 300


def mlflow_run(stack, user: str) -> None:
    """One finished run in the user's MLflow schema, in the rows MLflow's tracking store writes."""
    now = int(time.time() * 1000)
    schema = f"mlflow_{user}"
    stack.root_query(
        f"INSERT INTO `{schema}`.experiments (name, artifact_location, lifecycle_stage, creation_time, "
        "last_update_time) VALUES ('status-test', 's3://x', 'active', %s, %s)",
        (now, now),
    )
    experiment = stack.root_query(f"SELECT MAX(experiment_id) FROM `{schema}`.experiments")[0][0]
    stack.root_query(
        f"INSERT INTO `{schema}`.runs (run_uuid, name, source_type, user_id, status, start_time, end_time, "
        "lifecycle_stage, artifact_uri, experiment_id) VALUES (%s, 'run', 'LOCAL', %s, 'FINISHED', %s, %s, 'active', "
        "'s3://x', %s)",
        (uuid.uuid4().hex, user, now - 1000, now, experiment),
    )


def zenml_run(stack, user: str, password: str, created: list[str]) -> None:
    """One pipeline run created by the user in their own project; ``created`` collects the paths of what was
    made, for the clean-up."""
    create_pipeline_run(stack.zenml_session(user, password), f"{stack.zenml_url}/api/v1", user, created)


def wait_for_scanner(stack, sizes: dict[str, int]) -> None:
    """Until MinIO's usage summary shows each bucket at least that full, or does not know it yet (then the
    module lists it)."""
    deadline = time.monotonic() + SCANNER_WAIT
    admin = stack.s3_admin()
    while time.monotonic() < deadline:
        usage = json.loads(admin.get_data_usage_info()).get("bucketsUsageInfo") or {}
        if all(name not in usage or usage[name]["size"] >= size for name, size in sizes.items()):
            return
        time.sleep(3)
    pytest.fail(f"MinIO's scanner did not count {sizes} within {SCANNER_WAIT} s")


@pytest.fixture(scope="module")
def populated(stack):
    """Alice with objects, an MLflow run and a ZenML run; Bob's bucket at 95% of a 1 MiB quota."""
    created: list[str] = []
    try:
        for name in (ALICE, BOB):
            run = stack.manage_users("add", username=name, role="developer")
            assert run.returncode == 0, run.tail()
        alice = stack.user_env(ALICE)
        s3 = stack.s3(alice["S3_ACCESS_KEY"], alice["S3_SECRET_KEY"])
        for key, size in OBJECTS.items():
            s3.put_object(ALICE, key, io.BytesIO(b"a" * size), size)
        mlflow_run(stack, ALICE)
        zenml_run(stack, ALICE, alice["ZENML_PASSWORD"], created)
        stack.s3_admin().bucket_quota_set(BOB, SMALL_QUOTA)
        stack.s3_root().put_object(BOB, "big.bin", io.BytesIO(b"b" * FILL), FILL)
        wait_for_scanner(stack, {ALICE: sum(OBJECTS.values()), BOB: FILL})
        yield
    finally:
        # ZenML keeps (deactivated) an account that still owns runs: delete them first.
        admin = stack.zenml_session("root", stack.secrets["zenml_admin_password"])
        for path in reversed(created):
            admin.delete(f"{stack.zenml_url}/api/v1{path}", timeout=30)
        for name in (ALICE, BOB):
            run = stack.manage_users("remove", username=name, confirm=True)
            assert run.returncode == 0, run.tail()


def status(stack, report_dir: Path, **extra_vars: object):
    run = stack.playbook("status.yml", status_report_dir=str(report_dir), **extra_vars)
    name = f"{stack.vars['mlops_stack_name']}-status"
    report = json.loads((report_dir / f"{name}.json").read_text())
    return run, report, report_dir / f"{name}.md"


def test_every_field_of_a_stack_with_users_runs_and_objects(stack, populated, tmp_path):
    # Thresholds out of the way: this run must pass on any CI machine, with Bob at 95%.
    run, report, markdown = status(stack, tmp_path, status_quota_percent=100, status_min_free_disk_gb=0.001)
    assert run.returncode == 0, run.tail()
    assert report["ok"] is True and report["problems"] == [] and report["errors"] == []
    assert report["stack"] == stack.vars["mlops_stack_name"]
    docker = report["docker"]
    assert docker["version"] and docker["containers_running"] >= 3
    assert 0 < docker["disk_free"] <= docker["disk_total"]

    services = {row["service"]: row for row in report["services"]}
    assert {"database", "minio", "zenml-server"} <= set(services)
    for name in ("database", "minio", "zenml-server"):
        row = services[name]
        assert set(row) == SERVICE_FIELDS
        assert (row["state"], row["health"]) == ("running", "healthy"), row
        for field in ("image", "version", "started_at", "uptime_seconds", "cpu_used", "cpu_limit", "memory_usage",
                      "memory_limit", "memory_percent"):  # fmt: skip
            assert row[field] is not None, (name, field)
    assert services["zenml-server"]["version"] == "0.98.0"
    for name in ("database", "minio"):
        assert services[name]["volume_size"] > 0

    users = {row["username"]: row for row in report["users"]}
    alice, bob = users[ALICE], users[BOB]
    assert set(alice) == USER_FIELDS
    assert alice["role"] == "developer" and alice["schema"] == f"mlflow_{ALICE}"
    assert alice["schema_size"] > 0
    assert (alice["bucket_size"], alice["bucket_objects"]) == (sum(OBJECTS.values()), len(OBJECTS))
    assert alice["bucket_quota"] > 0
    assert (alice["mlflow_runs"], alice["zenml_runs"]) == (1, 1)
    assert alice["last_activity"] is not None
    assert (bob["bucket_size"], bob["bucket_quota"], bob["bucket_quota_percent"]) == (FILL, SMALL_QUOTA, 95.0)
    assert (bob["mlflow_runs"], bob["zenml_runs"], bob["last_activity"]) == (0, 0, None)
    assert report["totals"]["users"] == len(report["users"])

    assert ALICE in run.stdout and "zenml-server" in run.stdout  # the table in the play's output
    page = markdown.read_text()
    assert "## Services" in page and f"| {ALICE} | developer |" in page
    assert stat.S_IMODE(markdown.stat().st_mode) == 0o644


def test_a_bucket_over_90_percent_of_its_quota_fails_the_run(stack, populated, tmp_path):
    run, report, _ = status(stack, tmp_path, status_min_free_disk_gb=0.001)
    assert run.returncode != 0
    problem = f"user {BOB}: bucket {BOB} holds 972.8 KiB of its 1.0 MiB quota (95%, threshold 90%)"
    assert report["problems"] == [problem]
    assert problem in run.stdout, run.tail()
    assert report["ok"] is False


def test_a_stopped_container_fails_the_run(stack, populated, tmp_path):
    container = f"{stack.vars['mlops_stack_name']}-zenml"
    subprocess.run(["docker", "stop", container], check=True, capture_output=True)
    try:
        run, report, _ = status(stack, tmp_path, status_quota_percent=100, status_min_free_disk_gb=0.001)
    finally:
        subprocess.run(["docker", "start", container], check=True, capture_output=True)
        subprocess.run([str(REPO / "scripts" / "wait-healthy.sh"), container], check=True, timeout=300)
    assert run.returncode != 0
    problem = f"service zenml-server: container {container} is exited, not running"
    assert report["problems"] == [problem]
    assert problem in run.stdout, run.tail()
    # The ZenML figures come from its database, so they are still there.
    assert {row["username"]: row["zenml_runs"] for row in report["users"]}[ALICE] == 1
    assert requests.get(f"{stack.zenml_url}/health", timeout=10, verify=stack.ca_file or True).ok
