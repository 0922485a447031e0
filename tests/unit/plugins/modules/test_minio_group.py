"""Unit tests of the minio_group module: options, check mode, diff and result, against fake clients."""

import pytest
from ansible_collections.onprem.mlops.plugins.modules import minio_group
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import (
    FakeClients,
    run_module,
)


@pytest.mark.parametrize("check_mode", [True, False])
def test_create_empty_group_with_policies(
    check_mode: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    clients = FakeClients()
    args = {"name": "developers", "policies": ["readonly"], "_ansible_check_mode": check_mode}
    result = run_module(minio_group, args, clients, monkeypatch, capsys)
    assert result["changed"]
    assert result["group"] == {"name": "developers", "status": "enabled", "members": [], "policies": ["readonly"]}
    assert ("developers" in clients.fake_admin.groups) is not check_mode


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param({"name": "g", "state": "gone"}, "state", id="bad-state"),
        pytest.param({"name": "g", "members": "alice"}, None, id="string-member-becomes-list"),
        pytest.param({}, "name", id="name-required"),
    ],
)
def test_options(
    args: dict, message: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    clients = FakeClients()
    clients.fake_admin.users["alice"] = {"secret": "x" * 8, "status": "enabled", "policies": []}
    result = run_module(minio_group, args, clients, monkeypatch, capsys)
    if message is None:
        assert result["group"]["members"] == ["alice"]
    else:
        assert result["failed"] and message in result["msg"]


def test_unknown_member_is_reported(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    result = run_module(minio_group, {"name": "g", "members": ["ghost"]}, FakeClients(), monkeypatch, capsys)
    assert result["failed"]
    assert "XMinioAdminNoSuchUser" in result["msg"]
