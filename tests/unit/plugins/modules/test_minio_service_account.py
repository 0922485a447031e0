"""Unit tests of the minio_service_account module: options, check mode and result, against fake clients."""

import pytest
from ansible_collections.onprem.mlops.plugins.modules import minio_service_account
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import (
    FakeClients,
    run_module,
)

SCOPED = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::cache/ci/*"}],
}


def clients_with_user() -> FakeClients:
    clients = FakeClients()
    clients.fake_admin.users["runner"] = {"secret": "runner-secret", "status": "enabled", "policies": ["readwrite"]}
    return clients


@pytest.mark.parametrize("check_mode", [True, False])
def test_create(check_mode: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = clients_with_user()
    args = {
        "user": "runner",
        "service_access_key": "runner-cache",
        "service_secret_key": "cache-secret-key",
        "policy": SCOPED,
        "_ansible_check_mode": check_mode,
    }
    result = run_module(minio_service_account, args, clients, monkeypatch, capsys)
    assert result["changed"]
    assert result["service_account"]["user"] == "runner"
    assert result["service_account"]["policy"]["Statement"][0]["Action"] == ["s3:PutObject"]
    assert "cache-secret-key" not in str(result)
    assert ("runner-cache" in clients.fake_admin.accounts) is not check_mode


def test_user_is_required_when_present(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    result = run_module(minio_service_account, {"service_access_key": "k-1"}, FakeClients(), monkeypatch, capsys)
    assert result["failed"]
    assert "user" in result["msg"]


def test_absent_needs_no_user(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    args = {"service_access_key": "k-1", "state": "absent"}
    result = run_module(minio_service_account, args, FakeClients(), monkeypatch, capsys)
    assert not result["changed"]
    assert result["service_account"] == {}


def test_unknown_parent_is_reported(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    args = {"user": "ghost", "service_access_key": "k-1", "service_secret_key": "secret-key-1"}
    result = run_module(minio_service_account, args, FakeClients(), monkeypatch, capsys)
    assert result["failed"]
    assert "XMinioAdminNoSuchUser" in result["msg"]
