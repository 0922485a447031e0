"""Two students provisioned with manage_users.yml against the VM are isolated from each other, seen from this
machine through the forwarded ports. The scenario lists this directory next to the shared verifier.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pymysql
import pytest
import requests
from minio.error import S3Error

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "support"))
# The shared verifier's conftest (molecule/shared/tests), which pytest loaded first: its mark and, for this
# file outside its directory, its fixtures.
import conftest as shared_verifier
from mlops_clients import ZenMLSession, mysql_connect, s3_client, zenml_login
from playbook_runs import run_playbook

RUN = uuid.uuid4().hex[:5]
ALICE, BOB = f"alice{RUN}", f"bob{RUN}"
WRONG = "wrong-password-000000000000"
pytestmark = shared_verifier.full_server
stack_vars = shared_verifier.stack_vars
credentials_dir = shared_verifier.credentials_dir


@pytest.fixture(scope="module")
def team(credentials_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Two developers, added in one manage_users.yml run (a roster) against the VM's inventory."""
    roster = tmp_path_factory.mktemp("roster") / "students.csv"
    roster.write_text(f"username,role\n{ALICE},developer\n{BOB},developer\n", encoding="utf-8")
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    run = run_playbook(
        ["-i", inventory, "playbooks/manage_users.yml", "--tags", "sync", "-e", f"roster={roster}"],
        timeout=1800,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    team = {}
    for name in (ALICE, BOB):
        lines = (credentials_dir / f"{name}.env").read_text(encoding="utf-8").splitlines()
        team[name] = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return team


def test_each_developer_owns_their_bucket_only(stack_vars, team):
    alice = s3_client(stack_vars, team[ALICE]["S3_ACCESS_KEY"], team[ALICE]["S3_SECRET_KEY"])
    alice.put_object(ALICE, "model.bin", io.BytesIO(b"weights"), 7)
    assert alice.get_object(ALICE, "model.bin").read() == b"weights"
    bob = s3_client(stack_vars, team[BOB]["S3_ACCESS_KEY"], team[BOB]["S3_SECRET_KEY"])
    bob.put_object(BOB, "bob.txt", io.BytesIO(b"bob"), 3)
    for operation in (
        lambda: list(alice.list_objects(BOB)),
        lambda: alice.get_object(BOB, "bob.txt"),
        lambda: alice.put_object(BOB, "intrusion", io.BytesIO(b"x"), 1),
        lambda: alice.make_bucket(f"new{RUN}"),
    ):
        with pytest.raises(S3Error):
            operation()


def test_each_developer_schema_is_private(stack_vars, team):
    env = team[ALICE]
    with (
        mysql_connect(stack_vars, ALICE, env["MYSQL_PASSWORD"], env["MYSQL_DATABASE"]) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("CREATE TABLE IF NOT EXISTS isolation_probe (id INT PRIMARY KEY)")
        for statement in (f"SELECT COUNT(*) FROM mlflow_{BOB}.alembic_version", "SHOW TABLES FROM zenml"):
            with pytest.raises(pymysql.err.OperationalError):
                cursor.execute(statement)
    for schema in (f"mlflow_{BOB}", "stack_management", "zenml"):
        with pytest.raises(pymysql.err.OperationalError):
            mysql_connect(stack_vars, ALICE, env["MYSQL_PASSWORD"], schema)


def test_each_developer_sees_only_their_zenml_secrets(stack_vars, team):
    alice = ZenMLSession(stack_vars, ALICE, team[ALICE]["ZENML_PASSWORD"])
    assert team[ALICE]["ZENML_STACK"] in alice.stack_names()
    visible = {secret["name"] for secret in alice.get("/secrets")["items"]}
    assert f"{ALICE}-s3" in visible
    assert f"{BOB}-s3" not in visible


def test_wrong_passwords_refused(stack_vars, team):
    with pytest.raises(pymysql.err.OperationalError):
        mysql_connect(stack_vars, ALICE, WRONG)
    with pytest.raises(S3Error):
        next(iter(s3_client(stack_vars, ALICE, WRONG).list_objects(ALICE)))
    response = zenml_login(stack_vars, ALICE, WRONG)
    with pytest.raises(requests.HTTPError):
        response.raise_for_status()
