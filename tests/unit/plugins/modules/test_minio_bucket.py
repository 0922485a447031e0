"""Unit tests of the minio_bucket module: options, check mode and result, against fake clients."""

import pytest
from ansible_collections.onprem.mlops.plugins.modules import minio_bucket
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import (
    FakeClients,
    FakeObject,
    run_module,
)


@pytest.mark.parametrize("check_mode", [True, False])
def test_create(check_mode: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = FakeClients()
    args = {"name": "alice", "quota": "10GiB", "object_lifetime_days": 180, "_ansible_check_mode": check_mode}
    result = run_module(minio_bucket, args, clients, monkeypatch, capsys)
    assert result["changed"]
    assert result["bucket"]["quota"] == 10 * 1024**3
    assert result["bucket"]["object_lifetime_days"] == 180
    assert ("alice" in clients.fake_admin.buckets) is not check_mode


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param({"name": "alice", "quota": "ten gigs"}, "size 'ten gigs'", id="bad-quota"),
        pytest.param({"name": "alice", "object_lifetime_days": "soon"}, "object_lifetime_days", id="bad-days"),
        pytest.param({"name": "alice", "versioning": "maybe"}, "versioning", id="bad-bool"),
    ],
)
def test_refusals(args: dict, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = FakeClients()
    result = run_module(minio_bucket, args, clients, monkeypatch, capsys)
    assert result["failed"]
    assert message in result["msg"]
    assert clients.fake_admin.writes == []


def test_usage_is_returned_without_changing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = FakeClients()
    clients.fake_s3.make_bucket("alice")
    clients.fake_s3.objects["alice"] = [FakeObject("model.pkl", 2048, "v1")]
    clients.fake_admin.writes.clear()
    result = run_module(minio_bucket, {"name": "alice", "usage": True}, clients, monkeypatch, capsys)
    assert not result["changed"]
    assert result["bucket"]["usage"] == {"objects": 1, "size": 2048, "size_all_versions": 2048}
    assert clients.fake_admin.writes == []


def test_non_empty_bucket_needs_force(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = FakeClients()
    clients.fake_s3.make_bucket("alice")
    clients.fake_s3.objects["alice"] = [FakeObject("model.pkl", 2048, "v1")]
    result = run_module(minio_bucket, {"name": "alice", "state": "absent"}, clients, monkeypatch, capsys)
    assert result["failed"]
    assert "force=true" in result["msg"]
    result = run_module(minio_bucket, {"name": "alice", "state": "absent", "force": True}, clients, monkeypatch, capsys)
    assert result["changed"]
    assert "alice" not in clients.fake_admin.buckets
