"""Unit tests of the minio_tenant module: options, refusals, check mode, secrets and errors."""

import pytest
from ansible_collections.onprem.mlops.plugins.modules import minio_tenant
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import (
    LOGIN,
    FakeObject,
    admin_error,
    run_module,
)
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_tenant_fakes import tenant_server

ALICE = {"name": "alice", "role": "developer", "password": "alice-secret-1"}
CAROL = {"name": "carol", "role": "administrator", "password": "carol-secret-1"}


class Untouchable:
    """Clients that fail the test on any use: refusals must come before the first call to MinIO."""

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"MinIO was called ({name}) before the request was checked")


@pytest.mark.parametrize("check_mode", [True, False])
def test_present(check_mode: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = tenant_server()
    args = {"users": [ALICE, CAROL], "quota": "1GiB", "_ansible_check_mode": check_mode, "_ansible_diff": True}
    result = run_module(minio_tenant, args, clients, monkeypatch, capsys)
    assert result["changed"]
    assert [(user["name"], user["group"], user["user"]) for user in result["users"]] == [
        ("alice", "developers", "created"),
        ("carol", "administrators", "created"),
    ]
    assert result["diff"]["after"]["users"]["carol"]["bucket"]["quota"] == 1024**3
    assert ("alice" in clients.fake_admin.users) is not check_mode
    assert (clients.fake_admin.writes == []) is check_mode


def test_secrets_are_not_returned(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = tenant_server()
    clients.add_user("alice", "old-secret-123", "developers")
    args = {"users": [ALICE, CAROL], "update_password": "always", "_ansible_diff": True}
    result = run_module(minio_tenant, args, clients, monkeypatch, capsys)
    assert result["changed"] and result["users"][0]["password_changed"]
    for secret in ("alice-secret-1", "carol-secret-1", "old-secret-123", LOGIN["secret_key"]):
        assert secret not in str(result)


def test_absent_in_check_mode(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = tenant_server()
    clients.add_user("alice", "alice-secret-1", "developers")
    clients.add_bucket("alice", FakeObject("a.txt", 3), FakeObject("b.txt", 4))
    clients.fake_admin.writes.clear()
    args = {"users": [{"name": "alice"}], "state": "absent", "archive_bucket": "archive", "_ansible_check_mode": True}
    result = run_module(minio_tenant, args, clients, monkeypatch, capsys)
    assert result["changed"] and result["users"][0]["archived_objects"] == 2
    assert clients.fake_admin.writes == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param({"users": [{**ALICE, "name": "Alice"}]}, "invalid user names ['Alice']", id="upper-case"),
        pytest.param({"users": [{**ALICE, "name": "al"}]}, "invalid user names", id="too-short"),
        pytest.param({"users": [{**ALICE, "name": "a" * 21}]}, "a username has 3 to 20", id="too-long"),
        pytest.param({"users": [{**ALICE, "name": "1alice"}]}, "must start with a letter", id="digit-first"),
        pytest.param({"users": [{**ALICE, "name": "al-ice"}]}, "invalid user names", id="dash"),
        pytest.param({"users": [ALICE, ALICE]}, "listed more than once", id="duplicate"),
        pytest.param({"users": [{**ALICE, "name": "root-user"}]}, "admin account", id="login-account"),
        pytest.param({"users": [{**ALICE, "role": "teacher"}]}, "role", id="bad-role"),
        pytest.param({"users": [{"name": "alice", "password": "alice-secret-1"}]}, "have no role", id="no-role"),
        pytest.param({"users": [{**ALICE, "password": "short"}]}, "8 to 40 characters", id="short-password"),
        pytest.param({"users": [ALICE], "administrator_group": "developers"}, "two different", id="same-groups"),
        pytest.param({"users": [ALICE], "quota": "ten gigs"}, "quota: size 'ten gigs'", id="bad-quota"),
        pytest.param({"users": [ALICE], "object_lifetime_days": -1}, "0 (no expiry) or more", id="bad-days"),
        pytest.param(
            {"users": [{"name": "alice"}], "state": "absent", "archive_bucket": "Archive_1"},
            "archive_bucket: invalid bucket name",
            id="bad-archive",
        ),
        pytest.param(
            {"users": [{"name": "alice"}], "state": "absent", "archive_bucket": "alice"},
            "bucket of a user being removed",
            id="archive-is-removed",
        ),
        pytest.param(
            {"users": [{"name": "alice"}], "state": "absent", "archive_bucket": "arc", "archive_prefix_suffix": "a/b"},
            "archive_prefix_suffix",
            id="bad-suffix",
        ),
    ],
)
def test_refused_before_any_call(
    args: dict, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    result = run_module(minio_tenant, args, Untouchable(), monkeypatch, capsys)
    assert result["failed"]
    assert message in result["msg"]
    if "role" not in message:
        assert result["msg"].endswith("nothing was changed")


def test_sdk_errors_say_what_to_check(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    clients = tenant_server()

    def refuse(_name: str) -> str:
        raise admin_error(403, "XMinioAdminNotAdmin")

    monkeypatch.setattr(clients.fake_admin, "group_info", refuse)
    result = run_module(minio_tenant, {"users": [ALICE]}, clients, monkeypatch, capsys)
    assert result["failed"]
    assert result["msg"].startswith("managing MinIO tenants: MinIO admin API answered HTTP 403")
    assert "check access_key and secret_key" in result["msg"]
    assert clients.fake_admin.writes == []
