"""Unit tests of the minio_user module: options, secrets, check mode and result, against fake clients."""

import pytest
from ansible_collections.onprem.mlops.plugins.modules import minio_user
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import (
    FakeClients,
    run_module,
)


@pytest.mark.parametrize("check_mode", [True, False])
def test_create(check_mode: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = FakeClients()
    args = {"name": "alice", "password": "alice-password", "policies": ["readonly"], "_ansible_check_mode": check_mode}
    result = run_module(minio_user, args, clients, monkeypatch, capsys)
    assert result["changed"]
    assert result["user"]["policies"] == ["readonly"]
    assert not result["password_changed"]
    assert ("alice" in clients.fake_admin.users) is not check_mode


def test_user_alias_and_secrets_are_not_returned(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    clients = FakeClients()
    clients.fake_admin.users["alice"] = {"secret": "old-password", "status": "enabled", "policies": []}
    args = {"user": "alice", "password": "new-password", "update_password": "always", "_ansible_diff": True}
    result = run_module(minio_user, args, clients, monkeypatch, capsys)
    assert result["changed"] and result["password_changed"]
    assert "new-password" not in str(result) and "root-secret-key" not in str(result)
    assert clients.fake_admin.users["alice"]["secret"] == "new-password"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param({"name": "alice", "status": "locked"}, "status", id="bad-status"),
        pytest.param({"name": "alice", "update_password": "sometimes"}, "update_password", id="bad-update"),
        pytest.param({"name": "alice"}, "password is required", id="no-password-to-create"),
    ],
)
def test_refusals(args: dict, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    result = run_module(minio_user, args, FakeClients(), monkeypatch, capsys)
    assert result["failed"]
    assert message in result["msg"]
