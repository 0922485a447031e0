"""Unit tests of the database_tenant module: options, secrets, check mode and result, against a fake server."""

import pytest
from ansible_collections.onprem.mlops.plugins.modules import database_tenant
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_database_fakes import (
    ROOT_PASSWORD,
    FakeServer,
    run_module,
)
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_database_mlflow import HEAD, MlflowServer
from pymysql.err import OperationalError

ALICE = {"name": "alice", "role": "developer", "password": "alice-password"}
CAROL = {"name": "carol", "role": "administrator", "password": "carol-password"}


@pytest.mark.parametrize("dialect", ["mysql", "mariadb"])
@pytest.mark.parametrize("check_mode", [True, False])
def test_create(dialect: str, check_mode: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    server = FakeServer(dialect)
    args = {"users": [ALICE, CAROL], "_ansible_check_mode": check_mode, "_ansible_diff": True}
    result = run_module(database_tenant, args, server, monkeypatch, capsys)
    assert result["changed"]
    assert [user["name"] for user in result["users"]] == ["alice", "carol"]
    assert result["diff"]["after"]["users"]["carol"]["role"] == "administrator"
    assert (("alice", "%") in server.accounts) is not check_mode
    assert (server.writes == []) is check_mode


def test_second_run_is_not_changed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    server = FakeServer("mysql")
    run_module(database_tenant, {"users": [ALICE, CAROL]}, server, monkeypatch, capsys)
    server.writes.clear()
    result = run_module(database_tenant, {"users": [ALICE, CAROL], "usage": True}, server, monkeypatch, capsys)
    assert not result["changed"] and server.writes == []
    assert result["users"][0]["usage"] == {"bytes": 0, "tables": 0}


def test_secrets_are_not_returned(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    server = FakeServer()
    run_module(database_tenant, {"users": [ALICE]}, server, monkeypatch, capsys)
    args = {"users": [{**ALICE, "password": "new-password"}], "update_password": "always", "_ansible_diff": True}
    result = run_module(database_tenant, args, server, monkeypatch, capsys)
    assert result["changed"] and result["users"][0]["password_changed"]
    for secret in ("new-password", "alice-password", ROOT_PASSWORD):
        assert secret not in str(result)
    assert server.accounts[("alice", "%")].password == "new-password"


def test_absent(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    server = FakeServer()
    run_module(database_tenant, {"users": [ALICE]}, server, monkeypatch, capsys)
    result = run_module(database_tenant, {"users": [{"name": "alice"}], "state": "absent"}, server, monkeypatch, capsys)
    assert result["changed"] and not server.accounts and "mlflow_alice" not in server.schemas
    again = run_module(database_tenant, {"users": [{"name": "alice"}], "state": "absent"}, server, monkeypatch, capsys)
    assert not again["changed"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param({"users": [{**ALICE, "role": "teacher"}]}, "role", id="bad-role"),
        pytest.param({"users": [ALICE], "update_password": "sometimes"}, "update_password", id="bad-update"),
        pytest.param({"users": [{**ALICE, "name": "Robert'); DROP"}]}, "invalid user names", id="bad-name"),
        pytest.param({"users": [{"name": "alice", "password": "x"}]}, "have no role", id="no-role"),
        pytest.param({"users": [{"name": "alice", "role": "developer"}]}, "need a password", id="no-password"),
        pytest.param({"users": [ALICE], "registry_schema": "nowhere"}, "check registry_schema", id="no-registry"),
        pytest.param({"users": [ALICE], "login_password": "wrong"}, "check login_user and login_password", id="login"),
    ],
)
def test_refusals(args: dict, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    server = FakeServer()
    result = run_module(database_tenant, args, server, monkeypatch, capsys)
    assert result["failed"]
    assert message in result["msg"]
    assert server.writes == []


def test_unreachable_server(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    def refuse(**_kwargs: object) -> None:
        raise OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)")

    server = FakeServer()
    server.connect = refuse
    result = run_module(database_tenant, {"users": [ALICE], "login_port": 33306}, server, monkeypatch, capsys)
    assert result["failed"]
    assert "127.0.0.1:33306 (login_host:login_port) is reachable" in result["msg"]


def test_write_failure_names_the_user(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    server = FakeServer()
    server.fail_on[r"^GRANT SELECT ON `mlflow\\_%`"] = OperationalError(1227, "Access denied; you need SUPER")
    result = run_module(database_tenant, {"users": [ALICE, CAROL]}, server, monkeypatch, capsys)
    assert result["failed"]
    assert "while changing user carol (done before it: ['alice'])" in result["msg"]
    assert "GRANT OPTION" in result["msg"]
    assert "carol-password" not in str(result)


@pytest.mark.parametrize("check_mode", [True, False])
def test_schema_template(check_mode: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    server = MlflowServer()
    server.migrated("mlflow_template")
    args = {"users": [ALICE], "schema_template": "mlflow_template", "_ansible_check_mode": check_mode}
    result = run_module(database_tenant, args, server, monkeypatch, capsys)
    assert result["changed"] and result["users"][0]["schema_copied"]
    assert result["users"][0]["schema_revision"] == HEAD
    assert ("mlflow_alice" in server.tables) is not check_mode


def test_schema_revision_reports_migrations(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    server = MlflowServer()
    args = {"users": [], "schema_template": "mlflow_template", "schema_revision": HEAD, "_ansible_diff": True}
    result = run_module(database_tenant, args, server, monkeypatch, capsys)
    assert result["changed"] and result["schemas_to_migrate"] == ["mlflow_template"]
    assert result["diff"]["after"]["template"]["schema"] == "mlflow_template"


def test_schema_revision_needs_a_template(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    server = MlflowServer()
    result = run_module(database_tenant, {"users": [ALICE], "schema_revision": HEAD}, server, monkeypatch, capsys)
    assert result["failed"] and "schema_template" in result["msg"] and server.writes == []
