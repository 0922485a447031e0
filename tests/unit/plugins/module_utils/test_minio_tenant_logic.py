"""Unit tests of the minio_tenant logic (plan, moves, archive, secrets) against fake MinIO clients."""

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils._minio_bucket import expiry_rule
from ansible_collections.onprem.mlops.plugins.module_utils._minio_tenant import ensure_tenants
from ansible_collections.onprem.mlops.plugins.module_utils.minio import MinioModuleError
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import LOGIN, FakeObject
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_tenant_fakes import (
    TenantFakeClients,
    tenant_server,
)
from minio.lifecycleconfig import LifecycleConfig

MIB = 1024**2
ALICE = {"name": "alice", "role": "developer", "password": "alice-secret-1"}
BOB = {"name": "bob", "role": "developer", "password": "bob-secret-12"}
CAROL = {"name": "carol", "role": "administrator", "password": "carol-secret-1"}


def params(users: list[dict], **overrides: object) -> dict:
    base = {
        **LOGIN,
        "secure": None,
        "validate_certs": True,
        "region": None,
        "users": users,
        "developer_group": "developers",
        "administrator_group": "administrators",
        "quota": "10MiB",
        "object_lifetime_days": 30,
        "update_password": "on_create",
        "archive_bucket": None,
        "archive_prefix_suffix": None,
        "state": "present",
    }
    return {**base, **overrides}


def absent(users: list[dict], **overrides: object) -> dict:
    return params([{"name": user["name"]} for user in users], state="absent", **overrides)


def complete_bucket(clients: TenantFakeClients, name: str, *objects: FakeObject) -> None:
    clients.add_bucket(name, *objects, quota=10 * MIB)
    clients.fake_s3.set_bucket_lifecycle(name, LifecycleConfig([expiry_rule(30)]))


def members(clients: TenantFakeClients, group: str) -> list[str]:
    return sorted(clients.fake_admin.groups[group]["members"])


CREATE = ("user_add", "alice")
JOIN = ("group_add", "developers", ["alice"])
NEW_BUCKET = [
    ("make_bucket", "alice"),
    ("bucket_quota_set", "alice", 10 * MIB),
    ("set_bucket_lifecycle", "alice", ["onprem-mlops-expiry"]),
]


def _nothing(clients: TenantFakeClients) -> None:
    """A person the server has never seen."""


def _user_only(clients: TenantFakeClients) -> None:
    clients.add_user("alice", "alice-secret-1", "developers")


def _bucket_only(clients: TenantFakeClients) -> None:
    complete_bucket(clients, "alice")


def _wrong_group(clients: TenantFakeClients) -> None:
    clients.add_user("alice", "alice-secret-1", "administrators")
    complete_bucket(clients, "alice")


def _disabled(clients: TenantFakeClients) -> None:
    clients.add_user("alice", "alice-secret-1", "developers", status="disabled")
    complete_bucket(clients, "alice")


def _small_quota(clients: TenantFakeClients) -> None:
    clients.add_user("alice", "alice-secret-1", "developers")
    complete_bucket(clients, "alice")
    clients.fake_admin.bucket_quota_set("alice", MIB)


def _complete(clients: TenantFakeClients) -> None:
    clients.add_user("alice", "alice-secret-1", "developers")
    complete_bucket(clients, "alice")


@pytest.mark.parametrize(
    ("given", "writes", "user", "bucket"),
    [
        pytest.param(_nothing, [CREATE, *NEW_BUCKET, JOIN], "created", "created", id="new"),
        pytest.param(_user_only, NEW_BUCKET, "unchanged", "created", id="user-without-bucket"),
        pytest.param(_bucket_only, [CREATE, JOIN], "created", "unchanged", id="bucket-without-user"),
        pytest.param(
            _wrong_group,
            [("group_remove", "administrators", ["alice"]), ("group_add", "developers", ["alice"])],
            "updated",
            "unchanged",
            id="wrong-group",
        ),
        pytest.param(_disabled, [("user_enable", "alice")], "updated", "unchanged", id="disabled"),
        pytest.param(_small_quota, [("bucket_quota_set", "alice", 10 * MIB)], "unchanged", "updated", id="quota"),
        pytest.param(_complete, [], "unchanged", "unchanged", id="complete"),
    ],
)
def test_plan_completes_what_is_missing(given: object, writes: list, user: str, bucket: str) -> None:
    clients = tenant_server()
    given(clients)
    clients.fake_admin.writes.clear()

    check = ensure_tenants(clients, params([ALICE]), True)
    assert clients.fake_admin.writes == [], "check mode wrote"
    applied = ensure_tenants(clients, params([ALICE]), False)
    assert clients.fake_admin.writes == writes
    clients.fake_admin.writes.clear()
    again = ensure_tenants(clients, params([ALICE]), False)

    assert clients.fake_admin.writes == [], "a second run wrote"
    assert check == applied
    assert applied["changed"] is bool(writes) is applied["users"][0]["changed"]
    assert (applied["users"][0]["user"], applied["users"][0]["bucket"]) == (user, bucket)
    assert not again["changed"]
    assert again["users"][0]["user"] == again["users"][0]["bucket"] == "unchanged"
    assert members(clients, "developers") == ["alice"] and members(clients, "administrators") == []
    assert clients.fake_admin.users["alice"]["status"] == "enabled"


def test_a_class_joins_each_group_in_one_call() -> None:
    clients = tenant_server()
    clients.add_user("bob", "bob-secret-12", "administrators")
    clients.fake_admin.writes.clear()
    ensure_tenants(clients, params([ALICE, BOB, CAROL]), False)
    group_writes = [write for write in clients.fake_admin.writes if write[0].startswith("group_")]
    assert group_writes == [
        ("group_remove", "administrators", ["bob"]),
        ("group_add", "administrators", ["carol"]),
        ("group_add", "developers", ["alice", "bob"]),
    ]
    assert members(clients, "developers") == ["alice", "bob"]
    assert members(clients, "administrators") == ["carol"]


def test_role_change_moves_the_group_and_keeps_others() -> None:
    clients = tenant_server()
    clients.fake_admin.groups["teachers"] = {"status": "enabled", "members": set(), "policies": []}
    clients.add_user("alice", "alice-secret-1", "developers", "teachers")
    complete_bucket(clients, "alice")
    result = ensure_tenants(clients, params([{**ALICE, "role": "administrator"}]), False)
    assert result["users"][0]["group"] == "administrators"
    assert result["diff"]["before"]["users"]["alice"]["user"]["groups"] == ["developers", "teachers"]
    assert result["diff"]["after"]["users"]["alice"]["user"]["groups"] == ["administrators", "teachers"]
    assert members(clients, "developers") == [] and members(clients, "administrators") == ["alice"]
    assert members(clients, "teachers") == ["alice"]


def test_check_mode_diff_shows_the_new_tenant() -> None:
    clients = tenant_server()
    result = ensure_tenants(clients, params([ALICE]), True)
    assert result["diff"]["before"]["users"]["alice"] == {}
    after = result["diff"]["after"]["users"]["alice"]
    assert after["user"] == {"policies": [], "status": "enabled", "groups": ["developers"]}
    assert (after["bucket"]["quota"], after["bucket"]["object_lifetime_days"]) == (10 * MIB, 30)
    assert clients.fake_admin.writes == [] and not clients.fake_admin.users and not clients.fake_admin.buckets


@pytest.mark.parametrize(
    ("stored", "status", "rewritten"),
    [
        pytest.param("alice-secret-1", "enabled", False, id="same"),
        pytest.param("changed-by-hand", "enabled", True, id="different"),
        pytest.param("alice-secret-1", "disabled", True, id="disabled-cannot-be-checked"),
    ],
)
def test_update_password_always(stored: str, status: str, rewritten: bool) -> None:
    clients = tenant_server()
    clients.add_user("alice", stored, "developers", status=status)
    complete_bucket(clients, "alice")
    clients.fake_admin.writes.clear()
    on_create = ensure_tenants(clients, params([ALICE]), True)
    result = ensure_tenants(clients, params([ALICE], update_password="always"), False)
    assert on_create["users"][0]["password_changed"] is False
    assert result["users"][0]["password_changed"] is rewritten is result["changed"]
    assert clients.fake_admin.users["alice"] == {"policies": [], "secret": "alice-secret-1", "status": "enabled"}
    if rewritten:
        assert result["diff"]["after"]["users"]["alice"]["user"]["password"] == "<hidden, changed>"


def test_each_secret_is_sealed_for_the_admin() -> None:
    clients = tenant_server()
    ensure_tenants(clients, params([ALICE, BOB, CAROL]), False)
    assert len(set(clients.fake_admin.salts)) == 3
    assert {name: user["secret"] for name, user in clients.fake_admin.users.items()} == {
        user["name"]: user["password"] for user in (ALICE, BOB, CAROL)
    }


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        pytest.param(params([BOB, {"name": "alice", "role": "developer"}]), "need a password", id="no-password"),
        pytest.param(params([BOB, CAROL], administrator_group="teachers"), "teachers'] do not exist", id="no-group"),
    ],
)
def test_refused_after_reading_before_writing(request_: dict, message: str) -> None:
    clients = tenant_server()
    with pytest.raises(MinioModuleError, match=message):
        ensure_tenants(clients, request_, False)
    assert clients.fake_admin.writes == []


def test_lifetime_zero_drops_only_our_rule() -> None:
    clients = tenant_server()
    _complete(clients)
    ensure_tenants(clients, params([ALICE], object_lifetime_days=0, quota=None), False)
    assert "alice" not in clients.fake_s3.lifecycle
    assert clients.fake_admin.quotas["alice"]["quota"] == 10 * MIB


def test_absent_archives_then_deletes() -> None:
    clients = tenant_server()
    clients.add_user("alice", "alice-secret-1", "developers")
    complete_bucket(clients, "alice", FakeObject("data/a.csv", 10, "v2"), FakeObject("data/a.csv", 7, "v1", "false"))
    clients.add_user("bob", "bob-secret-12", "developers")
    complete_bucket(clients, "bob", FakeObject("model.pkl", 5))
    clients.fake_admin.writes.clear()
    request = absent([ALICE], archive_bucket="archive", archive_prefix_suffix="20261123140000")

    check = ensure_tenants(clients, request, True)
    assert clients.fake_admin.writes == []
    result = ensure_tenants(clients, request, False)
    again = ensure_tenants(clients, request, False)

    assert clients.fake_admin.writes == [
        ("user_remove", "alice"),
        ("make_bucket", "archive"),
        ("copy_object", "archive", "alice-20261123140000/data/a.csv"),
        ("remove_objects", "alice", 2),
        ("remove_bucket", "alice"),
    ]
    assert [entry.object_name for entry in clients.fake_s3.objects["archive"]] == ["alice-20261123140000/data/a.csv"]
    assert check["users"] == result["users"]
    assert result["users"][0] == {
        "name": "alice",
        "role": None,
        "group": None,
        "user": "removed",
        "bucket": "removed",
        "changed": True,
        "archived_objects": 1,
        "archive_prefix": "alice-20261123140000/",
    }
    assert result["diff"]["after"]["users"]["alice"] == {}
    assert not again["changed"] and again["users"][0]["archived_objects"] == 0
    assert "alice" not in clients.fake_admin.users and "alice" not in clients.fake_admin.buckets
    assert "bob" in clients.fake_admin.users and [entry.object_name for entry in clients.fake_s3.objects["bob"]] == [
        "model.pkl"
    ]
    assert members(clients, "developers") == ["bob"]


def test_archive_prefix_defaults_to_the_time_of_the_run() -> None:
    clients = tenant_server()
    clients.add_bucket("alice", FakeObject("a", 1))
    result = ensure_tenants(clients, absent([ALICE], archive_bucket="archive"), False)
    prefix = result["users"][0]["archive_prefix"]
    assert prefix.startswith("alice-2") and len(prefix) == len("alice-YYYYmmddHHMMSS/")
    assert clients.fake_s3.objects["archive"][0].object_name == prefix + "a"


def test_a_missing_copy_keeps_every_bucket() -> None:
    clients = tenant_server()
    clients.add_bucket("alice", FakeObject("a", 1), FakeObject("b", 1))
    clients.add_bucket("bob", FakeObject("c", 1))
    clients.fake_s3.lost_copies.add("b")
    with pytest.raises(MinioModuleError, match=r"lacks copies of 1 objects of \['alice'\].*no bucket was removed"):
        ensure_tenants(clients, absent([ALICE, BOB], archive_bucket="archive"), False)
    assert {"alice", "bob"} <= clients.fake_admin.buckets


def test_absent_without_archive_and_without_anything() -> None:
    clients = tenant_server()
    clients.add_bucket("alice", FakeObject("a", 1))
    result = ensure_tenants(clients, absent([ALICE, BOB]), False)
    assert [(user["user"], user["bucket"], user["changed"]) for user in result["users"]] == [
        ("absent", "removed", True),
        ("absent", "absent", False),
    ]
    assert "archive" not in clients.fake_admin.buckets and "archived_objects" not in result["users"][0]
