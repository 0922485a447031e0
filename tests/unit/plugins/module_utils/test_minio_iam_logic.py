"""Unit tests of the policy, group, user and service account logic against fake admin clients."""

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils._minio_group import ensure_group
from ansible_collections.onprem.mlops.plugins.module_utils._minio_policy import ensure_policy
from ansible_collections.onprem.mlops.plugins.module_utils._minio_service_account import (
    ensure_service_account,
)
from ansible_collections.onprem.mlops.plugins.module_utils._minio_user import ensure_user
from ansible_collections.onprem.mlops.plugins.module_utils.minio import MinioModuleError
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import FakeClients

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}],
}
SCOPED = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::cache/ci/*"]}],
}


def converge(ensure: object, clients: FakeClients, params: dict) -> dict[str, dict]:
    """Run check mode, apply, apply again; assert that only the apply wrote. Returns the three results."""
    clients.fake_admin.writes.clear()
    runs = {"check": ensure(clients, params, True)}
    assert clients.fake_admin.writes == [], "check mode wrote"
    runs["apply"] = ensure(clients, params, False)
    clients.fake_admin.writes.clear()
    runs["again"] = ensure(clients, params, False)
    assert clients.fake_admin.writes == [], "a second run wrote"
    assert runs["check"]["changed"] is runs["apply"]["changed"]
    assert not runs["again"]["changed"]
    assert runs["check"]["diff"] == runs["apply"]["diff"]
    return runs


def policy_params(**overrides: object) -> dict:
    return {"name": "data-read", "policy": POLICY, "state": "present", **overrides}


def group_params(**overrides: object) -> dict:
    return {"name": "developers", "policies": None, "members": None, "state": "present", **overrides}


def user_params(**overrides: object) -> dict:
    base = {
        "name": "alice",
        "password": "alice-secret-1",
        "update_password": "on_create",
        "status": None,
        "groups": None,
        "policies": None,
        "state": "present",
    }
    return {**base, **overrides}


def account_params(**overrides: object) -> dict:
    base = {
        "user": "alice",
        "service_access_key": "alice-ci",
        "service_secret_key": "alice-ci-secret",
        "update_password": "on_create",
        "policy": None,
        "name": None,
        "description": None,
        "state": "present",
    }
    return {**base, **overrides}


def add_user(clients: FakeClients, name: str = "alice", **fields: object) -> None:
    clients.fake_admin.users[name] = {"secret": f"{name}-secret-1", "status": "enabled", "policies": [], **fields}


# Policies


def test_policy_is_created_once() -> None:
    clients = FakeClients()
    runs = converge(ensure_policy, clients, policy_params())
    assert runs["check"]["changed"] and runs["apply"]["changed"]
    assert runs["check"]["diff"]["before"] == {}
    assert runs["again"]["policy"]["policy"]["Statement"][0]["Action"] == ["s3:GetObject"]
    # MinIO refuses a single statement given as an object: the canonical list form is what is written.
    assert isinstance(clients.fake_admin.policies["data-read"]["Statement"], list)


def test_policy_written_differently_is_not_rewritten() -> None:
    clients = FakeClients()
    ensure_policy(clients, policy_params(), False)
    clients.fake_admin.writes.clear()
    same = {"Version": "2012-10-17", "Statement": {**POLICY["Statement"][0], "Action": ["s3:GetObject"]}}
    assert not ensure_policy(clients, policy_params(policy=same), False)["changed"]
    assert clients.fake_admin.writes == []


def test_policy_update_shows_both_documents() -> None:
    clients = FakeClients()
    ensure_policy(clients, policy_params(), False)
    runs = converge(ensure_policy, clients, policy_params(policy=SCOPED))
    assert runs["check"]["diff"]["before"]["policy"]["Statement"][0]["Resource"] == ["arn:aws:s3:::data/*"]
    assert runs["check"]["diff"]["after"]["policy"]["Statement"][0]["Resource"] == ["arn:aws:s3:::cache/ci/*"]


def test_policy_removal_and_refusal_while_in_use() -> None:
    clients = FakeClients()
    ensure_policy(clients, policy_params(), False)
    clients.fake_admin.groups["developers"] = {"status": "enabled", "members": set(), "policies": ["data-read"]}
    with pytest.raises(MinioModuleError, match=r"groups \['developers'\]"):
        ensure_policy(clients, policy_params(state="absent"), False)
    clients.fake_admin.groups.clear()
    runs = converge(ensure_policy, clients, policy_params(state="absent"))
    assert runs["check"]["changed"] and runs["apply"]["changed"] and runs["again"]["policy"] == {}
    assert "data-read" not in clients.fake_admin.policies


@pytest.mark.parametrize("document", [{"Version": "2012-10-17", "Statement": []}, {}])
def test_policy_without_statements_is_refused(document: dict) -> None:
    with pytest.raises(MinioModuleError, match="at least one Statement"):
        ensure_policy(FakeClients(), policy_params(policy=document), True)


# Groups


def test_empty_group_gets_policies_before_any_user_exists() -> None:
    clients = FakeClients()
    runs = converge(ensure_group, clients, group_params(policies=["readonly"]))
    assert runs["check"]["diff"]["after"] == {
        "name": "developers",
        "status": "enabled",
        "members": [],
        "policies": ["readonly"],
    }
    assert runs["again"]["group"]["policies"] == ["readonly"]
    assert clients.fake_admin.users == {}


@pytest.mark.parametrize(
    ("members", "policies", "expected_writes"),
    [
        pytest.param(
            ["bob", "carol"],
            None,
            [("group_add", "developers", ["carol"]), ("group_remove", "developers", ["alice"])],
            id="members",
        ),
        pytest.param(
            None,
            ["readonly", "extra"],
            [("attach_policy", ["extra"], None, "developers"), ("detach_policy", ["readwrite"], None, "developers")],
            id="policies",
        ),
        pytest.param(
            [],
            [],
            [
                ("group_remove", "developers", ["alice", "bob"]),
                ("detach_policy", ["readonly", "readwrite"], None, "developers"),
            ],
            id="empty-all",
        ),
        pytest.param(None, None, [], id="untouched"),
    ],
)
def test_group_writes_only_the_difference(members: list | None, policies: list | None, expected_writes: list) -> None:
    clients = FakeClients()
    for name in ("alice", "bob", "carol"):
        add_user(clients, name)
    clients.fake_admin.policies["extra"] = POLICY
    clients.fake_admin.groups["developers"] = {
        "status": "enabled",
        "members": {"alice", "bob"},
        "policies": ["readonly", "readwrite"],
    }
    outcome = ensure_group(clients, group_params(members=members, policies=policies), False)
    assert clients.fake_admin.writes == expected_writes
    assert outcome["changed"] is bool(expected_writes)


def test_group_with_members_is_emptied_then_removed() -> None:
    clients = FakeClients()
    add_user(clients, "alice")
    clients.fake_admin.groups["developers"] = {"status": "enabled", "members": {"alice"}, "policies": ["readonly"]}
    runs = converge(ensure_group, clients, group_params(state="absent"))
    assert runs["check"]["diff"]["before"]["members"] == ["alice"]
    assert runs["apply"]["diff"]["after"] == {}
    assert "developers" not in clients.fake_admin.groups
    assert "alice" in clients.fake_admin.users


# Users


def test_user_is_created_with_groups_policies_and_status() -> None:
    clients = FakeClients()
    clients.fake_admin.groups["developers"] = {"status": "enabled", "members": set(), "policies": []}
    params = user_params(groups=["developers"], policies=["readonly"], status="disabled")
    runs = converge(ensure_user, clients, params)
    assert runs["check"]["diff"]["after"] == {
        "name": "alice",
        "status": "disabled",
        "policies": ["readonly"],
        "groups": ["developers"],
        "service_accounts": [],
    }
    assert clients.fake_admin.users["alice"]["status"] == "disabled"
    assert "alice" in clients.fake_admin.groups["developers"]["members"]
    assert not runs["again"]["password_changed"]


def test_user_needs_a_password_to_be_created() -> None:
    with pytest.raises(MinioModuleError, match="password is required"):
        ensure_user(FakeClients(), user_params(password=None), True)


def test_user_is_not_put_into_a_missing_group() -> None:
    clients = FakeClients()
    add_user(clients)
    with pytest.raises(MinioModuleError, match=r"\['ghosts'\] do not exist"):
        ensure_user(clients, user_params(groups=["ghosts"]), True)
    assert "ghosts" not in clients.fake_admin.groups


@pytest.mark.parametrize(
    ("update_password", "password", "status", "changed", "writes"),
    [
        pytest.param("on_create", "another-secret", "enabled", False, [], id="on-create-ignores"),
        pytest.param("always", "alice-secret-1", "enabled", False, [], id="always-same-secret"),
        pytest.param("always", "another-secret", "enabled", True, [("user_add", "alice")], id="always-new-secret"),
        pytest.param(
            "always",
            "alice-secret-1",
            "disabled",
            True,
            [("user_add", "alice"), ("user_disable", "alice")],
            id="disabled-cannot-be-checked",
        ),
    ],
)
def test_user_secret_is_compared_by_logging_in(
    update_password: str, password: str, status: str, changed: bool, writes: list
) -> None:
    clients = FakeClients()
    add_user(clients, status=status)
    checked = ensure_user(clients, user_params(update_password=update_password, password=password), True)
    assert clients.fake_admin.writes == []
    outcome = ensure_user(clients, user_params(update_password=update_password, password=password), False)
    assert checked["changed"] is changed is outcome["changed"] is outcome["password_changed"]
    assert clients.fake_admin.writes == writes
    assert clients.fake_admin.users["alice"]["secret"] == (password if changed else "alice-secret-1")
    assert clients.fake_admin.users["alice"]["status"] == status
    if changed:
        assert outcome["diff"]["before"]["password"] != outcome["diff"]["after"]["password"]
        assert password not in str(outcome)


def test_user_policies_and_groups_are_set_exactly() -> None:
    clients = FakeClients()
    add_user(clients, policies=["readonly", "readwrite"])
    for name in ("old", "new"):
        clients.fake_admin.groups[name] = {"status": "enabled", "members": set(), "policies": []}
    clients.fake_admin.groups["old"]["members"].add("alice")
    params = user_params(policies=["readonly", "diagnostics"], groups=["new"])
    converge(ensure_user, clients, params)
    assert clients.fake_admin.users["alice"]["policies"] == ["readonly", "diagnostics"]
    assert clients.fake_admin.groups["new"]["members"] == {"alice"}
    assert clients.fake_admin.groups["old"]["members"] == set()


def test_user_removal_takes_its_service_accounts() -> None:
    clients = FakeClients()
    add_user(clients)
    ensure_service_account(clients, account_params(), False)
    clients.fake_admin.writes.clear()
    runs = converge(ensure_user, clients, user_params(state="absent"))
    assert runs["check"]["diff"]["before"]["service_accounts"] == ["alice-ci"]
    assert clients.fake_admin.accounts == {}


# Service accounts


def test_service_account_is_created_for_its_user_with_a_policy() -> None:
    clients = FakeClients()
    add_user(clients)
    params = account_params(policy=SCOPED, name="ci-cache", description="CI cache")
    runs = converge(ensure_service_account, clients, params)
    assert runs["check"]["diff"]["after"]["user"] == "alice"
    assert clients.fake_admin.accounts["alice-ci"]["parent"] == "alice"
    assert runs["again"]["service_account"]["policy"]["Statement"][0]["Resource"] == ["arn:aws:s3:::cache/ci/*"]
    assert "alice-ci-secret" not in str(runs["again"])


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"service_secret_key": "a-new-secret", "update_password": "always"}, id="secret"),
        pytest.param({"description": "a new description"}, id="description"),
        pytest.param({"name": "renamed"}, id="name"),
    ],
)
def test_service_account_update_keeps_the_inline_policy(change: dict) -> None:
    clients = FakeClients()
    add_user(clients)
    ensure_service_account(clients, account_params(policy=SCOPED), False)
    runs = converge(ensure_service_account, clients, account_params(**change))
    assert runs["apply"]["changed"]
    assert clients.fake_admin.accounts["alice-ci"]["policy"] == runs["again"]["service_account"]["policy"]
    assert runs["again"]["service_account"]["policy"] is not None


def test_service_account_policy_is_dropped_with_an_empty_dict() -> None:
    clients = FakeClients()
    add_user(clients)
    ensure_service_account(clients, account_params(policy=SCOPED), False)
    clients.fake_admin.writes.clear()
    runs = converge(ensure_service_account, clients, account_params(policy={}))
    assert runs["check"]["diff"]["after"]["policy"] is None
    assert clients.fake_admin.accounts["alice-ci"]["policy"] is None


def test_service_account_of_another_user_is_not_moved() -> None:
    clients = FakeClients()
    add_user(clients)
    add_user(clients, "bob")
    ensure_service_account(clients, account_params(), False)
    with pytest.raises(MinioModuleError, match="belongs to user alice"):
        ensure_service_account(clients, account_params(user="bob"), True)


def test_service_account_needs_a_secret_to_be_created() -> None:
    clients = FakeClients()
    add_user(clients)
    with pytest.raises(MinioModuleError, match="service_secret_key is required"):
        ensure_service_account(clients, account_params(service_secret_key=None), True)


def test_service_account_removal() -> None:
    clients = FakeClients()
    add_user(clients)
    ensure_service_account(clients, account_params(), False)
    clients.fake_admin.writes.clear()
    runs = converge(ensure_service_account, clients, account_params(state="absent"))
    assert runs["check"]["changed"] and runs["apply"]["changed"]
    assert clients.fake_admin.accounts == {}
