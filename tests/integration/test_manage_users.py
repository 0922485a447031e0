"""manage_users.yml against the deployed stack: bad input, idempotence, isolation, interruption, removal.

Every claim is checked from outside, with independent clients (PyMySQL, the MinIO SDK, ZenML's REST API),
logged in as the users the playbook created.
"""

from __future__ import annotations

import io
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pymysql
import pytest
import requests
from minio.error import S3Error

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from deployed_stack import CREDENTIALS

RUN = uuid.uuid4().hex[:5]
ALICE, BOB, CAROL = f"alice{RUN}", f"bob{RUN}", f"carol{RUN}"
ENV_KEYS = {
    "MLOPS_USER",
    "MYSQL_HOST",
    "MYSQL_PORT",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
    "MYSQL_DATABASE",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY",
    "S3_SECRET_KEY",
    "S3_BUCKET",
    "ZENML_STORE_URL",
    "ZENML_USERNAME",
    "ZENML_PASSWORD",
    "ZENML_STACK",
}


@pytest.fixture(scope="module")
def team(stack):
    """Two developers and an administrator, added once for the module."""
    for name, role in ((ALICE, "developer"), (BOB, "developer"), (CAROL, "administrator")):
        run = stack.manage_users("add", username=name, role=role)
        assert run.returncode == 0, run.tail()
    stack.s3_root().put_object("shared", f"team-{RUN}.txt", io.BytesIO(b"shared data"), 11)
    return {name: stack.user_env(name) for name in (ALICE, BOB, CAROL)}


# --- bad input: refused with a message, nothing changed --------------------------------------------

BAD_ADDS = {
    "uppercase": ({"username": "Alice", "role": "developer"}, "upper-case letters"),
    "space": ({"username": "al ice", "role": "developer"}, "only letters a-z and digits"),
    "sql": ({"username": "x'; DROP TABLE users; --", "role": "developer"}, "only letters a-z and digits"),
    "one character": ({"username": "a", "role": "developer"}, "has 1 characters"),
    "forty characters": ({"username": "a" * 40, "role": "developer"}, "has 40 characters"),
    "root": ({"username": "root", "role": "developer"}, "reserved"),
    "shared-x": ({"username": "shared-x", "role": "developer"}, "only letters a-z and digits"),
    "unknown role": ({"username": "dora", "role": "wizard"}, "-e role=developer or -e role=administrator"),
    "missing username": ({"role": "developer"}, "a username is required"),
    "missing role": ({"username": "dora"}, "-e role=developer or -e role=administrator"),
}


@pytest.mark.parametrize(("extra_vars", "message"), BAD_ADDS.values(), ids=BAD_ADDS.keys())
def test_bad_add_refused_and_nothing_changed(stack, extra_vars, message):
    before = stack.snapshot()
    run = stack.manage_users("add", **extra_vars)
    assert run.returncode != 0
    assert message in run.stdout, run.tail()
    assert "Nothing was changed" in run.stdout
    assert stack.snapshot() == before


def test_no_action_tag_refused(stack):
    run = stack.playbook("manage_users.yml", "-e", "username=dora")
    assert run.returncode != 0
    assert "Choose one action with --tags" in run.stdout, run.tail()


def test_remove_of_an_unknown_user_refused(stack):
    before = stack.snapshot()
    run = stack.manage_users("remove", username=f"nobody{RUN}", confirm=True)
    assert run.returncode != 0
    assert "there is no user" in run.stdout, run.tail()
    assert stack.snapshot() == before


# --- adding ---------------------------------------------------------------------------------------


def test_add_twice_changes_nothing(stack, team):
    run = stack.manage_users("add", username=ALICE, role="developer")
    assert run.returncode == 0, run.tail()
    assert run.changed == 0, run.tail()


def test_add_with_another_role_refused(stack, team):
    before = stack.snapshot()
    run = stack.manage_users("add", username=ALICE, role="administrator")
    assert run.returncode != 0
    assert f"{ALICE} exists as developer" in run.stdout, run.tail()
    assert stack.snapshot() == before


def test_credentials_files(team):
    for name, env in team.items():
        assert set(env) >= ENV_KEYS
        assert env["MLOPS_USER"] == name
        for suffix in (".env", ".md"):
            path = CREDENTIALS / f"{name}{suffix}"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert env["ZENML_STACK"] in (CREDENTIALS / f"{name}.md").read_text()


def test_registry_rows(stack, team):
    rows = dict(stack.root_query("SELECT username, role FROM stack_management.users"))
    assert rows[ALICE] == "developer" and rows[BOB] == "developer" and rows[CAROL] == "administrator"


# --- isolation, proven from outside -----------------------------------------------------------------


def _s3(stack, env):
    return stack.s3(env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"])


def test_developer_owns_their_bucket(stack, team):
    alice = _s3(stack, team[ALICE])
    alice.put_object(ALICE, "model.bin", io.BytesIO(b"weights"), 7)
    assert alice.get_object(ALICE, "model.bin").read() == b"weights"
    assert [o.object_name for o in alice.list_objects(ALICE)] == ["model.bin"]
    alice.remove_object(ALICE, "model.bin")
    assert list(alice.list_objects(ALICE)) == []


@pytest.mark.parametrize(
    "operation",
    [
        lambda c: list(c.list_objects(BOB)),
        lambda c: c.put_object(BOB, "intrusion", io.BytesIO(b"x"), 1),
        lambda c: c.get_object(BOB, "anything"),
        lambda c: c.put_object("shared", "graffiti", io.BytesIO(b"x"), 1),
        lambda c: c.make_bucket(f"new{RUN}"),
        lambda c: c.remove_object("shared", f"team-{RUN}.txt"),
    ],
    ids=["list other", "write other", "read other", "write shared", "create bucket", "delete shared"],
)
def test_developer_refused_outside_their_bucket(stack, team, operation):
    with pytest.raises(S3Error):
        operation(_s3(stack, team[ALICE]))


def test_developer_reads_shared(stack, team):
    assert _s3(stack, team[ALICE]).get_object("shared", f"team-{RUN}.txt").read() == b"shared data"


def test_administrator_reads_everything(stack, team):
    _s3(stack, team[BOB]).put_object(BOB, "bob.txt", io.BytesIO(b"bob"), 3)
    carol = _s3(stack, team[CAROL])
    assert carol.get_object(BOB, "bob.txt").read() == b"bob"
    with stack.mysql(CAROL, team[CAROL]["MYSQL_PASSWORD"]) as connection, connection.cursor() as cursor:
        # A teacher reads a student's MLflow schema but cannot change it (docs/admin-guide.md, Database privileges).
        cursor.execute(f"SELECT COUNT(*) FROM mlflow_{BOB}.alembic_version")
        assert cursor.fetchone()[0] == 1
        for statement in (f"CREATE TABLE mlflow_{BOB}.probe (id INT)", f"DELETE FROM mlflow_{BOB}.alembic_version"):
            with pytest.raises(pymysql.err.OperationalError, match="command denied"):
                cursor.execute(statement)


def test_developer_schema_is_private(stack, team):
    env = team[ALICE]
    with stack.mysql(ALICE, env["MYSQL_PASSWORD"], env["MYSQL_DATABASE"]) as connection, connection.cursor() as c:
        # The schema already holds MLflow's tables (copied at provisioning): write a table of our own.
        c.execute("CREATE TABLE IF NOT EXISTS isolation_probe (id INT PRIMARY KEY)")
        c.execute("INSERT IGNORE INTO isolation_probe VALUES (1)")
        c.execute("SELECT COUNT(*) FROM isolation_probe")
        assert c.fetchone()[0] == 1
        for statement in (
            f"SELECT * FROM mlflow_{BOB}.probe",
            "SELECT * FROM stack_management.users",
            "SHOW TABLES FROM zenml",
            f"CREATE DATABASE sneaky{RUN}",
        ):
            with pytest.raises(pymysql.err.OperationalError):
                c.execute(statement)
    for schema in (f"mlflow_{BOB}", "stack_management", "zenml"):
        with pytest.raises(pymysql.err.OperationalError):
            stack.mysql(ALICE, env["MYSQL_PASSWORD"], schema)


def test_wrong_passwords_refused(stack, team):
    with pytest.raises(pymysql.err.OperationalError):
        stack.mysql(ALICE, "wrong-password-000000000000")
    with pytest.raises(S3Error):
        stack.s3(ALICE, "wrong-password-000000000000").list_objects(ALICE).__next__()
    with pytest.raises(requests.HTTPError):
        stack.zenml_session(ALICE, "wrong-password-000000000000")


def test_each_user_has_a_private_zenml_stack(stack, team):
    for name, env in team.items():
        session = stack.zenml_session(name, env["ZENML_PASSWORD"])
        stacks = {s["name"]: s for s in stack.zenml_get(session, "/stacks", name=env["ZENML_STACK"])["items"]}
        assert env["ZENML_STACK"] in stacks
        own_secrets = {s["name"] for s in stack.zenml_get(session, "/secrets")["items"]}
        assert f"{name}-s3" in own_secrets
    alice = stack.zenml_session(ALICE, team[ALICE]["ZENML_PASSWORD"])
    visible = {s["name"] for s in stack.zenml_get(alice, "/secrets")["items"]}
    assert f"{BOB}-s3" not in visible and f"{BOB}-mlflow" not in visible


# --- roster, list, rotation -------------------------------------------------------------------------


def test_sync_adds_lists_and_prunes(stack, team, tmp_path):
    newcomers = [f"dan{RUN}", f"eve{RUN}"]
    roster = tmp_path / "class.csv"
    roster.write_text("username,role\n" + "".join(f"{n},developer\n" for n in [ALICE, *newcomers]), encoding="utf-8")
    run = stack.manage_users("sync", roster=str(roster))
    assert run.returncode == 0, run.tail()
    registered = {r[0] for r in stack.root_query("SELECT username FROM stack_management.users")}
    assert set(newcomers) <= registered
    assert BOB in registered and "kept; -e prune=yes removes them" in " ".join(run.stdout.split())
    again = stack.manage_users("sync", roster=str(roster))
    assert again.returncode == 0 and again.changed == 0, again.tail()
    bad = tmp_path / "bad.csv"
    bad.write_text("username,role\nGood,developer\nok1,wizard\n", encoding="utf-8")
    before = stack.snapshot()
    refused = stack.manage_users("sync", roster=str(bad))
    assert refused.returncode != 0 and "line 2" in refused.stdout and "line 3" in refused.stdout
    assert stack.snapshot() == before
    yaml_roster = tmp_path / "class.yml"
    yaml_roster.write_text(f"- {{username: {ALICE}, role: developer}}\n", encoding="utf-8")
    pruned = stack.manage_users("sync", roster=str(yaml_roster), prune=True, confirm=True)
    assert pruned.returncode == 0, pruned.tail()
    registered = {r[0] for r in stack.root_query("SELECT username FROM stack_management.users")}
    assert ALICE in registered and not set(newcomers) & registered and BOB not in registered
    assert CAROL in registered, "administrators are never pruned"
    for name, role in ((BOB, "developer"),):
        assert stack.manage_users("add", username=name, role=role).returncode == 0
        team[name] = stack.user_env(name)


def test_list_shows_usage(stack, team):
    run = stack.manage_users("list")
    assert run.returncode == 0, run.tail()
    assert "USER" in run.stdout and "SCHEMA SIZE" in run.stdout
    assert ALICE in run.stdout and CAROL in run.stdout


def test_rotate_gives_new_passwords(stack, team):
    old = team[CAROL]
    run = stack.manage_users("add", username=CAROL, role="administrator", rotate=True)
    assert run.returncode == 0, run.tail()
    new = stack.user_env(CAROL)
    assert new["MYSQL_PASSWORD"] != old["MYSQL_PASSWORD"] and new["S3_SECRET_KEY"] != old["S3_SECRET_KEY"]
    with pytest.raises(pymysql.err.OperationalError):
        stack.mysql(CAROL, old["MYSQL_PASSWORD"])
    stack.mysql(CAROL, new["MYSQL_PASSWORD"]).close()
    assert list(_s3(stack, new).list_objects(CAROL)) == []
    stack.zenml_session(CAROL, new["ZENML_PASSWORD"])
    team[CAROL] = new


# --- interruption and removal -------------------------------------------------------------------------


def _container(stack, service: str) -> str:
    return f"{stack.vars['mlops_stack_name']}-{service}"


def _docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True)


@pytest.mark.parametrize("stopped", ["minio", "zenml"])
def test_interrupted_add_is_completed_by_a_rerun(stack, team, stopped):
    name = f"int{stopped[:3]}{RUN}"
    _docker("stop", _container(stack, stopped))
    try:
        interrupted = stack.manage_users("add", username=name, role="developer")
    finally:
        _docker("start", _container(stack, stopped))
    assert interrupted.returncode != 0
    subprocess.run(
        [str(Path(__file__).resolve().parents[2] / "scripts" / "wait-healthy.sh"), _container(stack, stopped)],
        check=True,
    )
    rerun = stack.manage_users("add", username=name, role="developer")
    assert rerun.returncode == 0, rerun.tail()
    snapshot = stack.snapshot()
    assert snapshot["mysql_accounts"].count(name) == 1
    assert snapshot["buckets"].count(name) == 1
    assert snapshot["zenml_stacks"].count(f"{name}-stack") == 1
    assert stack.manage_users("remove", username=name, confirm=True).returncode == 0


def test_interrupted_remove_is_completed_by_a_rerun(stack, team):
    name = f"intrm{RUN}"
    assert stack.manage_users("add", username=name, role="developer").returncode == 0
    _docker("stop", _container(stack, "database"))
    try:
        interrupted = stack.manage_users("remove", username=name, confirm=True)
    finally:
        _docker("start", _container(stack, "database"))
    assert interrupted.returncode != 0
    subprocess.run(
        [str(Path(__file__).resolve().parents[2] / "scripts" / "wait-healthy.sh"), _container(stack, "database")],
        check=True,
    )
    rerun = stack.manage_users("remove", username=name, confirm=True)
    assert rerun.returncode == 0, rerun.tail()
    snapshot = stack.snapshot()
    assert name not in snapshot["mysql_accounts"] and name not in snapshot["buckets"]
    assert f"{name}-stack" not in snapshot["zenml_stacks"] and name not in snapshot["zenml_users"]


def test_remove_without_confirmation_refused(stack, team):
    before = stack.snapshot()
    run = stack.manage_users("remove", username=BOB)
    assert run.returncode != 0
    assert "not confirmed" in run.stdout, run.tail()
    assert stack.snapshot() == before


def test_remove_takes_everything_and_leaves_others_working(stack, team):
    _s3(stack, team[BOB]).put_object(BOB, "keep.txt", io.BytesIO(b"archived"), 8)
    run = stack.manage_users("remove", username=BOB, confirm=True, archive=True)
    assert run.returncode == 0, run.tail()
    snapshot = stack.snapshot()
    assert BOB not in snapshot["mysql_accounts"] and f"mlflow_{BOB}" not in snapshot["mysql_schemas"]
    assert BOB not in snapshot["buckets"] and BOB not in snapshot["s3_users"]
    assert BOB not in snapshot["zenml_users"] and f"{BOB}-stack" not in snapshot["zenml_stacks"]
    assert BOB not in [row[0] for row in snapshot["registry"]]
    assert not (CREDENTIALS / f"{BOB}.env").exists()
    assert any(s.startswith(f"archive_{BOB}_") for s in snapshot["mysql_schemas"])
    archived = [o.object_name for o in stack.s3_root().list_objects("archive", prefix=f"{BOB}-", recursive=True)]
    assert any(key.endswith("/keep.txt") for key in archived)
    alice = _s3(stack, team[ALICE])
    alice.put_object(ALICE, "still-here", io.BytesIO(b"ok"), 2)
    stack.mysql(ALICE, team[ALICE]["MYSQL_PASSWORD"], team[ALICE]["MYSQL_DATABASE"]).close()
    stack.zenml_session(ALICE, team[ALICE]["ZENML_PASSWORD"])
    second = stack.manage_users("remove", username=BOB, confirm=True)
    assert second.returncode != 0 and "there is no user" in second.stdout


def test_cleanup(stack, team):
    for name in (ALICE, CAROL):
        assert stack.manage_users("remove", username=name, confirm=True).returncode == 0
