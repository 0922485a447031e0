"""Unit tests of the minio_policy module: options, check mode, diff and result, against fake clients."""

import pytest
from ansible_collections.onprem.mlops.plugins.modules import minio_policy
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import (
    FakeClients,
    run_module,
)

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}],
}


@pytest.mark.parametrize("check_mode", [True, False])
def test_create(check_mode: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = FakeClients()
    args = {"name": "data-read", "policy": POLICY, "_ansible_check_mode": check_mode, "_ansible_diff": True}
    result = run_module(minio_policy, args, clients, monkeypatch, capsys)
    assert result["changed"]
    assert result["diff"]["before"] == {}
    assert result["policy"]["policy"]["Statement"][0]["Action"] == ["s3:GetObject"]
    assert ("data-read" in clients.fake_admin.policies) is not check_mode


def test_state_present_requires_a_policy(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    result = run_module(minio_policy, {"name": "data-read"}, FakeClients(), monkeypatch, capsys)
    assert result["failed"]
    assert "policy" in result["msg"]


def test_failure_names_the_policy(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = FakeClients()
    clients.fake_admin.policies["used"] = POLICY
    clients.fake_admin.groups["developers"] = {"status": "enabled", "members": set(), "policies": ["used"]}
    result = run_module(minio_policy, {"name": "used", "state": "absent"}, clients, monkeypatch, capsys)
    assert result["failed"]
    assert result["msg"].startswith("managing MinIO policy used: policy used is still attached")


def test_login_secret_is_never_returned(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    result = run_module(minio_policy, {"name": "data-read", "policy": POLICY}, FakeClients(), monkeypatch, capsys)
    assert not result.get("failed")
    assert "root-secret-key" not in str(result)
