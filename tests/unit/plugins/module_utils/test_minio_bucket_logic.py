"""Unit tests of the bucket logic: lifecycle rule merge, quota, versioning, policy, usage, removal."""

import json

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils._minio_bucket import (
    EXPIRY_RULE_ID,
    ensure_bucket,
    expiry_rule,
    merge_lifecycle_rules,
)
from ansible_collections.onprem.mlops.plugins.module_utils.minio import MinioModuleError
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import (
    FakeClients,
    FakeObject,
)
from minio.commonconfig import ENABLED, Filter
from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule

OTHER = Rule(ENABLED, rule_filter=Filter(prefix="tmp/"), rule_id="other", expiration=Expiration(days=1))
PUBLIC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/p/*"}],
}


def params(**overrides: object) -> dict:
    base = {
        "name": "b",
        "state": "present",
        "force": False,
        "quota": None,
        "object_lifetime_days": None,
        "versioning": None,
        "policy": None,
        "usage": False,
        "region": None,
    }
    return {**base, **overrides}


def existing(clients: FakeClients, name: str = "b") -> FakeClients:
    clients.fake_s3.make_bucket(name)
    clients.fake_admin.writes.clear()
    return clients


@pytest.mark.parametrize(
    ("rules", "days", "expected"),
    [
        pytest.param([], 7, [expiry_rule(7)], id="add-to-none"),
        pytest.param([OTHER], 7, [OTHER, expiry_rule(7)], id="append-after-others"),
        pytest.param([expiry_rule(30), OTHER], 7, [expiry_rule(7), OTHER], id="replace-in-place"),
        pytest.param([expiry_rule(7), OTHER], 7, [expiry_rule(7), OTHER], id="unchanged"),
        pytest.param([OTHER, expiry_rule(30)], 0, [OTHER], id="remove-keeps-others"),
        pytest.param([expiry_rule(30)], 0, [], id="remove-last"),
        pytest.param([], 0, [], id="nothing-to-remove"),
        pytest.param([expiry_rule(3), expiry_rule(4)], 5, [expiry_rule(5)], id="duplicates-collapse"),
    ],
)
def test_merge_lifecycle_rules(rules: list, days: int, expected: list) -> None:
    assert merge_lifecycle_rules(rules, days) == expected


def test_expiry_rule_covers_the_whole_bucket() -> None:
    rule = expiry_rule(30)
    assert rule.rule_id == EXPIRY_RULE_ID
    assert rule.rule_filter == Filter(prefix="")
    assert rule.expiration.days == 30


def test_new_bucket_with_every_setting_in_check_mode_writes_nothing() -> None:
    clients = FakeClients()
    wanted = params(quota="10GiB", object_lifetime_days=30, versioning=True, policy=PUBLIC, usage=True)
    outcome = ensure_bucket(clients, wanted, True)
    assert clients.fake_admin.writes == []
    assert outcome["changed"]
    assert outcome["diff"]["before"] == {}
    assert outcome["diff"]["after"] == {
        "name": "b",
        "quota": 10 * 1024**3,
        "object_lifetime_days": 30,
        "versioning": True,
        "policy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetObject"],
                    "Resource": ["arn:aws:s3:::b/p/*"],
                }
            ],
        },
    }
    assert outcome["bucket"]["usage"] == {"objects": 0, "size": 0, "size_all_versions": 0}


def test_new_bucket_is_created_with_its_settings_once() -> None:
    clients = FakeClients()
    wanted = params(quota="10GiB", object_lifetime_days=30, versioning=True, policy=PUBLIC)
    ensure_bucket(clients, wanted, False)
    assert [write[0] for write in clients.fake_admin.writes] == [
        "make_bucket",
        "bucket_quota_set",
        "set_bucket_lifecycle",
        "set_bucket_versioning",
        "set_bucket_policy",
    ]
    clients.fake_admin.writes.clear()
    again = ensure_bucket(clients, wanted, False)
    assert not again["changed"]
    assert clients.fake_admin.writes == []


def test_plain_new_bucket_only_makes_the_bucket() -> None:
    clients = FakeClients()
    outcome = ensure_bucket(clients, params(), False)
    assert clients.fake_admin.writes == [("make_bucket", "b")]
    assert outcome["bucket"] == {
        "name": "b",
        "quota": None,
        "object_lifetime_days": None,
        "versioning": False,
        "policy": None,
    }


@pytest.mark.parametrize(
    ("current", "wanted", "writes"),
    [
        pytest.param(None, "1GiB", [("bucket_quota_set", "b", 1024**3)], id="set"),
        pytest.param(1024**3, "1GiB", [], id="same-string"),
        pytest.param(1024**3, 1024**3, [], id="same-int"),
        pytest.param(1024**3, "2g", [("bucket_quota_set", "b", 2 * 1024**3)], id="raise"),
        pytest.param(1024**3, "none", [("bucket_quota_clear", "b")], id="clear"),
        pytest.param(1024**3, 0, [("bucket_quota_clear", "b")], id="clear-zero"),
        pytest.param(None, 0, [], id="nothing-to-clear"),
        pytest.param(1024**3, None, [], id="leave-alone"),
    ],
)
def test_quota(current: int | None, wanted: object, writes: list) -> None:
    clients = existing(FakeClients())
    if current:
        clients.fake_admin.quotas["b"] = {"quota": current, "quotatype": "hard"}
    outcome = ensure_bucket(clients, params(quota=wanted), False)
    assert clients.fake_admin.writes == writes
    assert outcome["changed"] is bool(writes)


def test_quota_written_in_the_newer_size_field_is_read() -> None:
    clients = existing(FakeClients())
    clients.fake_admin.quotas["b"] = {"quota": 0, "size": 4096, "quotatype": "hard"}
    assert not ensure_bucket(clients, params(quota=4096), False)["changed"]


def test_lifetime_change_keeps_other_rules() -> None:
    clients = existing(FakeClients())
    clients.fake_s3.lifecycle["b"] = LifecycleConfig([OTHER, expiry_rule(30)])
    checked = ensure_bucket(clients, params(object_lifetime_days=7), True)
    assert clients.fake_admin.writes == []
    assert (checked["diff"]["before"]["object_lifetime_days"], checked["diff"]["after"]["object_lifetime_days"]) == (
        30,
        7,
    )
    ensure_bucket(clients, params(object_lifetime_days=7), False)
    assert clients.fake_admin.writes == [("set_bucket_lifecycle", "b", ["other", EXPIRY_RULE_ID])]
    ensure_bucket(clients, params(object_lifetime_days=0), False)
    assert clients.fake_s3.lifecycle["b"].rules == [OTHER]
    clients.fake_admin.writes.clear()
    assert not ensure_bucket(clients, params(object_lifetime_days=0), False)["changed"]


def test_removing_the_only_rule_deletes_the_configuration() -> None:
    clients = existing(FakeClients())
    clients.fake_s3.lifecycle["b"] = LifecycleConfig([expiry_rule(30)])
    ensure_bucket(clients, params(object_lifetime_days=0), False)
    assert clients.fake_admin.writes == [("delete_bucket_lifecycle", "b")]


@pytest.mark.parametrize("days", [-1, -30])
def test_negative_lifetime_is_refused(days: int) -> None:
    with pytest.raises(MinioModuleError, match="object_lifetime_days"):
        ensure_bucket(existing(FakeClients()), params(object_lifetime_days=days), True)


@pytest.mark.parametrize(
    ("current", "wanted", "writes"),
    [
        pytest.param(None, True, [("set_bucket_versioning", "b", "Enabled")], id="enable"),
        pytest.param(None, False, [], id="never-versioned-stays"),
        pytest.param("Enabled", False, [("set_bucket_versioning", "b", "Suspended")], id="suspend"),
        pytest.param("Suspended", False, [], id="already-suspended"),
        pytest.param("Suspended", True, [("set_bucket_versioning", "b", "Enabled")], id="re-enable"),
        pytest.param("Enabled", None, [], id="leave-alone"),
    ],
)
def test_versioning(current: str | None, wanted: bool | None, writes: list) -> None:
    clients = existing(FakeClients())
    clients.fake_s3.versioning["b"] = current
    ensure_bucket(clients, params(versioning=wanted), False)
    assert clients.fake_admin.writes == writes


def test_bucket_policy_compared_canonically_and_removed_with_empty_dict() -> None:
    clients = existing(FakeClients())
    ensure_bucket(clients, params(policy=PUBLIC), False)
    stored = json.loads(clients.fake_s3.policy["b"])
    assert stored["Statement"][0]["Principal"] == {"AWS": ["*"]}
    clients.fake_admin.writes.clear()
    assert not ensure_bucket(clients, params(policy=stored), False)["changed"]
    ensure_bucket(clients, params(policy={}), False)
    assert clients.fake_admin.writes == [("delete_bucket_policy", "b")]


def test_usage_counts_current_objects_and_all_versions() -> None:
    clients = existing(FakeClients())
    clients.fake_s3.objects["b"] = [
        FakeObject("a", 100, "v1"),
        FakeObject("b", 30, "v3"),
        FakeObject("b", 50, "v2", is_latest="false"),
        FakeObject("c", 0, "v4", is_delete_marker=True),
        FakeObject("c", 70, "v5", is_latest="false"),
    ]
    outcome = ensure_bucket(clients, params(usage=True), True)
    assert outcome["bucket"]["usage"] == {"objects": 2, "size": 130, "size_all_versions": 250}
    assert "usage" not in outcome["diff"]["after"]


def test_non_empty_bucket_is_kept_without_force() -> None:
    clients = existing(FakeClients())
    clients.fake_s3.objects["b"] = [FakeObject("a", 1, "v1"), FakeObject("a", 1, "v0", is_latest="false")]
    with pytest.raises(MinioModuleError, match="not empty \\(2 object versions\\)"):
        ensure_bucket(clients, params(state="absent"), True)
    assert clients.fake_admin.writes == []


@pytest.mark.parametrize("check_mode", [True, False])
def test_force_removes_every_version_then_the_bucket(check_mode: bool) -> None:
    clients = existing(FakeClients())
    clients.fake_s3.objects["b"] = [FakeObject("a", 1, "v1"), FakeObject("a", 0, "v2", is_delete_marker=True)]
    outcome = ensure_bucket(clients, params(state="absent", force=True), check_mode)
    assert outcome["changed"]
    assert outcome["diff"]["after"] == {} and outcome["bucket"] == {}
    if check_mode:
        assert clients.fake_admin.writes == [] and "b" in clients.fake_admin.buckets
    else:
        assert clients.fake_admin.writes == [("remove_objects", "b", 2), ("remove_bucket", "b")]
        assert "b" not in clients.fake_admin.buckets


def test_absent_bucket_stays_absent() -> None:
    clients = FakeClients()
    outcome = ensure_bucket(clients, params(state="absent"), False)
    assert not outcome["changed"]
    assert clients.fake_admin.writes == []
