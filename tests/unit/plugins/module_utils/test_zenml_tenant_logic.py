"""Planning and applying of zenml_tenant: pure comparisons first, then whole runs against the fake server."""

import dataclasses
import json

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils import _zenml_tenant as tenants
from ansible_collections.onprem.mlops.plugins.module_utils._zenml_tenant import (
    ARTIFACT_STORE,
    EXPERIMENT_TRACKER,
    ORCHESTRATOR,
    Current,
    Step,
    Tenant,
    ensure_present,
    manage_all,
    plan_account,
    plan_removal,
    plan_resources,
    remove,
    validate,
)
from ansible_collections.onprem.mlops.plugins.module_utils.zenml import ZenmlApiError, ZenmlClient, ZenmlModuleError
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_zenml_fake_server import FakeZenml

PARAMS = {
    "state": "present",
    "admin_username": "root",
    "update_password": "on_create",
    "s3_endpoint_url": "http://minio:9000",
    "mlflow_tracking_uri": "http://127.0.0.1:5000",
    "artifact_path_prefix": "zenml",
}


def entry(name: str = "alice", **changes) -> dict:
    return {
        "name": name,
        "role": "developer",
        "password": f"{name}-password",
        "s3_access_key": name,
        "s3_secret_key": f"{name}-s3-secret",
        "s3_bucket": name,
        "mlflow_username": name,
        "mlflow_password": f"{name}-mlflow-secret",
        **changes,
    }


def spec(name: str = "alice", params: dict | None = None, **changes) -> Tenant:
    return validate({**PARAMS, **(params or {}), "users": [entry(name, **changes)]})[0]


def describe(steps: list[Step]) -> list[str]:
    return [step.describe() for step in steps]


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "name", ["ab", "Alice", "1alice", "al_ice", "al-ice", "a" * 21, "", "alice ", "template", "sharedx"]
)
def test_names_follow_the_tenant_rule(name: str) -> None:
    with pytest.raises(ZenmlModuleError, match=r"invalid user names .*nothing was changed"):
        validate({**PARAMS, "users": [entry(name)]})


@pytest.mark.parametrize("name", ["abc", "alice", "a" + "1" * 19, "student42"])
def test_good_names(name: str) -> None:
    assert validate({**PARAMS, "users": [entry(name)]})[0].name == name


@pytest.mark.parametrize(
    ("users", "params", "message"),
    [
        ([entry(), entry()], {}, r"users \['alice'\] are listed more than once"),
        ([entry("root")], {}, "root is the admin account"),
        ([entry(password=None)], {}, "password is required with state=present"),
        ([entry(mlflow_password="")], {}, "mlflow_password is required"),
        ([entry(s3_bucket="Bad_Bucket")], {}, "is not a valid S3 bucket name"),
        ([entry()], {"s3_endpoint_url": "minio:9000"}, "s3_endpoint_url 'minio:9000' must be"),
        ([entry()], {"mlflow_tracking_uri": ""}, "mlflow_tracking_uri must not be empty"),
    ],
)
def test_entries_and_options_are_checked(users: list, params: dict, message: str) -> None:
    with pytest.raises(ZenmlModuleError, match=message):
        validate({**PARAMS, **params, "users": users})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ZenmlModuleError) as caught:
        validate({**PARAMS, "users": [entry("X"), entry("bob", s3_bucket=None)]})
    assert "invalid user names ['X']" in str(caught.value)
    assert "users[1] (bob): s3_bucket is required" in str(caught.value)


def test_removal_needs_only_a_name() -> None:
    assert validate({**PARAMS, "state": "absent", "users": [{"name": "alice"}]}) == [Tenant(name="alice")]


@pytest.mark.parametrize(
    ("prefix", "path"),
    [
        ("zenml", "s3://alice/zenml"),
        ("/runs/zenml/", "s3://alice/runs/zenml"),
        ("", "s3://alice"),
        (None, "s3://alice"),
    ],
)
def test_artifact_store_configuration(prefix: str | None, path: str) -> None:
    components = {item.type: item for item in spec(params={"artifact_path_prefix": prefix}).components}
    assert components[ARTIFACT_STORE].configuration == {
        "path": path,
        "authentication_secret": "alice-s3",
        "client_kwargs": {"endpoint_url": "http://minio:9000"},
    }
    assert components[EXPERIMENT_TRACKER].configuration == {
        "tracking_uri": "http://127.0.0.1:5000",
        "tracking_username": "{{alice-mlflow.username}}",
        "tracking_password": "{{alice-mlflow.password}}",
    }
    assert (components[ORCHESTRATOR].flavor, components[ORCHESTRATOR].configuration) == ("local", {})


# -------------------------------------------------------------------------------------------- planning

USER = {"id": "u1", "name": "alice", "is_admin": False, "active": True}


@pytest.mark.parametrize(
    ("user", "login_ok", "update_password", "expected"),
    [
        (None, False, "on_create", ["create user alice"]),
        (USER, True, "on_create", []),
        ({**USER, "is_admin": True}, True, "on_create", ["update user alice"]),
        (USER, False, "always", ["reset_password user alice"]),
        ({**USER, "active": False}, False, "on_create", ["activate user alice"]),
        ({**USER, "active": False, "is_admin": True}, False, "always", ["update user alice", "activate user alice"]),
    ],
)
def test_plan_account(user: dict | None, login_ok: bool, update_password: str, expected: list[str]) -> None:
    assert describe(plan_account(spec(), user, login_ok, update_password)) == expected


@pytest.mark.parametrize(("update_password", "keeps"), [("on_create", True), ("always", False)])
def test_activation_sets_the_password_only_with_always(update_password: str, keeps: bool) -> None:
    [step] = plan_account(spec(), {**USER, "active": False}, False, update_password)
    assert step.data == {"set_password": not keeps}


def test_a_refused_login_with_on_create_is_an_error() -> None:
    with pytest.raises(ZenmlModuleError, match="update_password=always"):
        plan_account(spec(), USER, False, "on_create")


def matching(desired: Tenant, **changes) -> Current:
    """The server state that matches ``desired`` exactly, with ``changes`` applied."""
    components = {
        item.type: {
            "id": f"id-{item.type}",
            "name": item.name,
            "type": item.type,
            "flavor": item.flavor,
            "user_id": "u1",
            "configuration": dict(item.configuration),
        }
        for item in desired.components
    }
    stack = {
        "id": "id-stack",
        "name": desired.stack,
        "user_id": "u1",
        "components": {kind: [item["id"]] for kind, item in components.items()},
    }
    secrets = {name: {"id": f"id-{name}", "values": dict(values)} for name, values in desired.secrets.items()}
    current = Current(user=dict(USER), components=components, stack=stack, secrets=secrets)
    for key, value in changes.items():
        setattr(current, key, value)
    return current


def _changed_secret(current: Current) -> Current:
    current.secrets["alice-s3"]["values"]["aws_secret_access_key"] = "old"
    return current


def _extra_key(current: Current) -> Current:
    current.secrets["alice-mlflow"]["values"]["token"] = "x"
    return current


def _other_path(current: Current) -> Current:
    current.components[ARTIFACT_STORE]["configuration"]["path"] = "s3://other"
    return current


def _extra_setting(current: Current) -> Current:
    current.components[ORCHESTRATOR]["configuration"] = {"synchronous": True}
    return current


def _extra_member(current: Current) -> Current:
    current.stack["components"]["step_operator"] = ["id-x"]
    return current


def _lost_member(current: Current) -> Current:
    del current.stack["components"][EXPERIMENT_TRACKER]
    return current


def _lost_component(current: Current) -> Current:
    del current.components[ORCHESTRATOR]
    return current


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda current: current, []),
        (_changed_secret, ["update secret alice-s3"]),
        (_extra_key, ["update secret alice-mlflow"]),
        (_other_path, ["update component alice-artifact-store"]),
        (_extra_setting, ["update component alice-orchestrator"]),
        (_extra_member, ["update stack alice-stack"]),
        (_lost_member, ["update stack alice-stack"]),
        (_lost_component, ["create component alice-orchestrator", "update stack alice-stack"]),
        (
            lambda current: Current(user=current.user, secrets={}),
            [
                "create secret alice-s3",
                "create secret alice-mlflow",
                "create component alice-artifact-store",
                "create component alice-mlflow",
                "create component alice-orchestrator",
                "create stack alice-stack",
            ],
        ),
        (
            lambda current: Current(user=current.user, components=current.components, stack=current.stack),
            ["write secret alice-s3", "write secret alice-mlflow"],
        ),
    ],
)
def test_plan_resources(change, expected: list[str]) -> None:
    desired = spec()
    assert describe(plan_resources(desired, "u1", change(matching(desired)))) == expected


@pytest.mark.parametrize(
    ("user_id", "change", "message"),
    [
        ("u2", {}, r"the component alice-artifact-store already exists and belongs to another account \(user id u1\)"),
        (None, {}, r"belongs to another account \(user id u1\), not to this user"),
        ("u1", {"stack": {"id": "s", "name": "alice-stack", "user_id": None, "components": {}}}, "nobody"),
    ],
)
def test_resources_of_someone_else_are_refused(user_id: str | None, change: dict, message: str) -> None:
    desired = spec()
    with pytest.raises(ZenmlModuleError, match=message):
        plan_resources(desired, user_id, matching(desired, **change))


def test_a_flavor_cannot_change() -> None:
    desired = spec()
    current = matching(desired)
    current.components[ORCHESTRATOR]["flavor"] = "kubernetes"
    with pytest.raises(ZenmlModuleError, match="has flavor kubernetes, not local"):
        plan_resources(desired, "u1", current)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {},
            [
                "delete stack alice-stack",
                "delete component alice-artifact-store",
                "delete component alice-mlflow",
                "delete component alice-orchestrator",
                "delete secret alice-mlflow",
                "delete secret alice-s3",
                "delete user alice",
            ],
        ),
        ({"components": {}, "stack": None, "secrets": None}, ["take_over user alice", "delete user alice"]),
        ({"components": {}, "stack": None, "secrets": {}}, ["delete user alice"]),
        ({"user": {**USER, "active": False}, "components": {}, "stack": None, "secrets": None}, ["delete user alice"]),
        (
            {"user": {**USER, "active": False}, "components": {}, "secrets": None},
            ["delete stack alice-stack", "take_over user alice", "delete user alice"],
        ),
        ({"user": None}, []),
    ],
)
def test_plan_removal(change: dict, expected: list[str]) -> None:
    assert describe(plan_removal(Tenant(name="alice"), matching(spec(), **change))) == expected


def test_removal_leaves_resources_of_others_alone() -> None:
    current = matching(spec(), secrets={})
    current.components[ORCHESTRATOR]["user_id"] = "u2"
    current.stack["user_id"] = "u2"
    assert describe(plan_removal(Tenant(name="alice"), current)) == [
        "delete component alice-artifact-store",
        "delete component alice-mlflow",
        "delete user alice",
    ]


# --------------------------------------------------------------------------- whole runs against the fake


@pytest.fixture
def server() -> FakeZenml:
    return FakeZenml()


@pytest.fixture
def client(server: FakeZenml) -> ZenmlClient:
    zenml_client = ZenmlClient(server, "http://zenml:8080", 5)
    zenml_client.admin_token = server.token_for("root")
    return zenml_client


ALL_CREATED = [
    "create user alice",
    "create project alice",
    "set_default project alice",
    "create secret alice-s3",
    "create secret alice-mlflow",
    "create component alice-artifact-store",
    "create component alice-mlflow",
    "create component alice-orchestrator",
    "create stack alice-stack",
]
OWNED = {
    "secrets": ["alice-mlflow", "alice-s3"],
    "components": ["alice-artifact-store", "alice-mlflow", "alice-orchestrator"],
    "stacks": ["alice-stack"],
}


def test_check_mode_writes_nothing(server: FakeZenml, client: ZenmlClient) -> None:
    outcome = ensure_present(client, spec(), "on_create", check_mode=True)
    assert outcome.result["changed"] and outcome.result["actions"] == ALL_CREATED
    assert outcome.result["user"] == {"name": "alice", "id": None}
    assert outcome.before == {}
    assert outcome.after["stack"]["components"][EXPERIMENT_TRACKER] == ["alice-mlflow"]
    assert server.writes() == [] and server.user("alice") is None


def test_present_creates_everything_owned_by_the_user_then_changes_nothing(
    server: FakeZenml, client: ZenmlClient
) -> None:
    first = ensure_present(client, spec(), "on_create", check_mode=False).result
    assert first["actions"] == ALL_CREATED
    assert server.owned_by("alice") == OWNED
    admin_paths = {"/api/v1/users", "/api/v1/projects", f"/api/v1/users/{server.user('alice')['id']}"}
    writers = {caller for method, path, caller in server.writes() if path not in admin_paths}
    assert writers == {"alice"}, "everything but the account and its project is written with the user's own login"
    project = server.project("alice")
    assert first["project"] == {"name": "alice", "id": project["id"]}
    assert server.user("alice")["default_project_id"] == project["id"]
    stack = next(iter(server.stacks.values()))
    assert stack["components"] == {kind: [first["components"][kind]["id"]] for kind in stack["components"]}
    assert set(stack["components"]) == {ARTIFACT_STORE, EXPERIMENT_TRACKER, ORCHESTRATOR}
    assert all(item["private"] for item in server.secrets.values())
    assert first["secrets"]["s3"]["id"] in server.secrets

    server.calls.clear()
    for check_mode in (True, False):
        again = ensure_present(client, spec(), "on_create", check_mode=check_mode)
        assert not again.result["changed"] and again.result["actions"] == []
        assert again.before == again.after
    assert server.writes() == []


def test_the_admin_cannot_read_the_private_secrets(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    assert client.list_all("/secrets") == []
    for secret_id in server.secrets:
        assert client.get_or_none(f"/secrets/{secret_id}") is None


def test_secrets_never_show(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    changed = spec(s3_secret_key="new-s3-secret", password="new-password")
    outcome = ensure_present(client, changed, "always", check_mode=False)
    assert outcome.result["actions"] == ["reset_password user alice", "update secret alice-s3"]
    assert outcome.result["password_changed"]
    assert outcome.before["password"] == "<hidden>" and outcome.after["password"] == "<hidden, changed>"
    assert outcome.after["secrets"]["alice-s3"] == {
        "keys": ["aws_access_key_id", "aws_secret_access_key"],
        "values": "<hidden, changed>",
    }
    text = json.dumps(dataclasses.asdict(outcome))
    for secret in ("alice-password", "new-password", "alice-s3-secret", "new-s3-secret", "alice-mlflow-secret"):
        assert secret not in text


def test_drift_is_repaired(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    orchestrator = next(item for item in server.components.values() if item["type"] == ORCHESTRATOR)
    next(iter(server.stacks.values()))["components"].pop(ORCHESTRATOR)
    del server.components[orchestrator["id"]]
    next(item for item in server.components.values() if item["type"] == ARTIFACT_STORE)["configuration"] = {}
    server.user("alice")["is_admin"] = True
    outcome = ensure_present(client, spec(), "on_create", check_mode=False).result
    assert outcome["actions"] == [
        "update user alice",
        "update component alice-artifact-store",
        "create component alice-orchestrator",
        "update stack alice-stack",
    ]
    assert not ensure_present(client, spec(), "on_create", check_mode=False).result["changed"]
    assert server.owned_by("alice") == OWNED
    assert server.user("alice")["is_admin"] is False


def test_a_partly_created_user_is_completed(server: FakeZenml, client: ZenmlClient) -> None:
    server.fail_next[("POST", "/api/v1/stacks")] = (500, {"detail": ["RuntimeError", "boom"]})
    with pytest.raises(ZenmlApiError, match="boom"):
        ensure_present(client, spec(), "on_create", check_mode=False)
    assert ensure_present(client, spec(), "on_create", check_mode=False).result["actions"] == [
        "create stack alice-stack"
    ]


def test_an_administrator(server: FakeZenml, client: ZenmlClient) -> None:
    outcome = ensure_present(client, spec("carol", role="administrator"), "on_create", check_mode=False)
    assert outcome.result["role"] == "administrator" and server.user("carol")["is_admin"]


def test_a_deactivated_account_is_activated_with_its_password(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    server.user("alice")["active"] = False
    outcome = ensure_present(client, spec(), "on_create", check_mode=False).result
    assert outcome["actions"] == ["activate user alice"] and not outcome["password_changed"]
    assert server.user("alice")["active"] and server.user("alice")["password"] == "alice-password"


def test_a_failed_activation_leaves_the_account_deactivated(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    server.user("alice").update(active=False, password="someone-elses")
    with pytest.raises(ZenmlModuleError, match="it was left deactivated"):
        ensure_present(client, spec(), "on_create", check_mode=False)
    assert not server.user("alice")["active"]
    outcome = ensure_present(client, spec(), "always", check_mode=False).result
    assert outcome["actions"] == ["activate user alice"]
    assert server.user("alice")["password"] == "alice-password"


def test_check_mode_before_a_password_reset(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    server.user("alice")["password"] = "changed-by-alice"
    server.calls.clear()
    outcome = ensure_present(client, spec(), "always", check_mode=True)
    assert outcome.result["actions"] == [
        "reset_password user alice",
        "write secret alice-s3",
        "write secret alice-mlflow",
    ]
    assert outcome.before["secrets"] == "<private to the user, not read>"
    assert server.writes() == []


def test_removal_with_the_password(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    absent = Tenant(name="alice", password="alice-password")
    checked = remove(client, absent, check_mode=True)
    assert checked.result["changed"] and server.user("alice") is not None
    assert checked.before["secrets"]["alice-s3"]["values"] == "<hidden>"
    outcome = remove(client, absent, check_mode=False).result
    assert outcome["account"] == "deleted" and outcome["actions"] == checked.result["actions"]
    assert (server.user("alice"), server.secrets, server.components, server.stacks) == (None, {}, {}, {})
    again = remove(client, absent, check_mode=False).result
    assert (again["changed"], again["account"], again["actions"]) == (False, "absent", [])


def test_removal_takes_the_persons_other_stacks_and_components(server: FakeZenml, client: ZenmlClient) -> None:
    from ansible_collections.onprem.mlops.plugins.module_utils import _zenml_resources as api

    ensure_present(client, spec(), "on_create", check_mode=False)
    ensure_present(client, spec("bob"), "on_create", check_mode=False)
    token = client.login("alice", "alice-password")
    hybrid = api.create_component(client, token, "alice-hybrid-orchestrator", "orchestrator", "local", {})
    api.create_stack(client, token, "alice-hybrid-stack", {"orchestrator": [hybrid["id"]]})
    absent = Tenant(name="alice", password="alice-password")
    checked = remove(client, absent, check_mode=True)
    assert checked.before["other"] == {"stacks": ["alice-hybrid-stack"], "components": ["alice-hybrid-orchestrator"]}
    actions = remove(client, absent, check_mode=False).result["actions"]
    assert actions.index("delete stack alice-hybrid-stack") < actions.index(
        "delete component alice-hybrid-orchestrator"
    )
    assert server.user("alice") is None
    assert server.owned_by("bob")["stacks"] == ["bob-stack"]


def test_removal_without_the_password_enters_the_account(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    outcome = remove(client, Tenant(name="alice"), check_mode=False).result
    assert outcome["actions"][-5:] == [
        "take_over user alice",
        "delete secret alice-mlflow",
        "delete secret alice-s3",
        "delete user alice",
        "delete project alice",
    ]
    assert (server.user("alice"), server.secrets, server.project("alice")) == (None, {}, None)


def test_an_account_with_other_resources_is_deactivated(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    server.user("alice")["other_resources"] = 3
    outcome = remove(client, Tenant(name="alice", password="alice-password"), check_mode=False).result
    assert outcome["account"] == "deactivated" and outcome["actions"][-1] == "deactivate user alice"
    assert "still owns other resources" in outcome["warnings"][0]
    assert server.project("alice") is not None, "the project holds the account's runs: kept with it"
    assert not server.user("alice")["active"] and server.owned_by("alice") == {
        "secrets": [],
        "components": [],
        "stacks": [],
    }
    again = remove(client, Tenant(name="alice", password="alice-password"), check_mode=False).result
    assert (again["changed"], again["account"]) == (False, "deactivated")
    assert "still owns other resources" in again["warnings"][0]


def test_other_refusals_to_delete_an_account_are_errors(server: FakeZenml, client: ZenmlClient) -> None:
    server.add_user("alice", "alice-password")
    user_id = server.user("alice")["id"]
    server.fail_next[("DELETE", f"/api/v1/users/{user_id}")] = (403, {"detail": ["IllegalOperationError", "no"]})
    with pytest.raises(ZenmlApiError, match="no"):
        remove(client, Tenant(name="alice", password="alice-password"), check_mode=False)


def test_manage_all_goes_on_after_a_failure(server: FakeZenml, client: ZenmlClient) -> None:
    bob = server.add_user("bob", "bob-password")
    server.components["taken"] = {
        "id": "taken",
        "name": "bob-orchestrator",
        "type": ORCHESTRATOR,
        "flavor": "local",
        "configuration": {},
        "user_id": server.user("root")["id"],
    }
    people = validate({**PARAMS, "users": [entry("alice"), entry("bob"), entry("carol")]})
    outcomes, failures = manage_all(client, people, PARAMS, check_mode=False)
    assert [outcome.result["name"] for outcome in outcomes] == ["alice", "carol"]
    assert [(name, type(error)) for name, error in failures] == [("bob", ZenmlModuleError)]
    assert "bob-orchestrator already exists and belongs to" in str(failures[0][1])
    assert server.users[bob]["active"]


def test_manage_all_keeps_the_order_with_many_people(
    server: FakeZenml, client: ZenmlClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenants, "WORKERS", 8)
    names = [f"user{index:02d}" for index in range(30)]
    people = validate({**PARAMS, "users": [entry(name) for name in names]})
    outcomes, failures = manage_all(client, people, PARAMS, check_mode=False)
    assert failures == [] and [outcome.result["name"] for outcome in outcomes] == names
    assert len(server.stacks) == 30 and len(server.secrets) == 60
    removal = {**PARAMS, "state": "absent"}
    outcomes, failures = manage_all(
        client, validate({**removal, "users": [{"name": n} for n in names]}), removal, False
    )
    assert failures == [] and all(outcome.result["account"] == "deleted" for outcome in outcomes)
    assert [user["name"] for user in server.users.values()] == ["root"]


def test_a_project_that_is_not_empty_stays_when_the_account_goes(server: FakeZenml, client: ZenmlClient) -> None:
    ensure_present(client, spec(), "on_create", check_mode=False)
    # A teacher ran a pipeline in alice's project: alice owns nothing more, but the project is not empty.
    server.contents[server.project("alice")["id"]] = {"pipelines": 1, "runs": 2}
    outcome = remove(client, Tenant(name="alice", password="alice-password"), check_mode=False).result
    assert outcome["account"] == "deleted" and "delete project alice" not in outcome["actions"]
    assert "still holds 1 pipelines, 2 runs" in outcome["warnings"][0]
    assert server.project("alice") is not None


def test_an_existing_project_becomes_the_accounts_default(server: FakeZenml, client: ZenmlClient) -> None:
    user_id = server.add_user("alice", "alice-password")
    project_id = server.add_project("alice")
    outcome = ensure_present(client, spec(), "on_create", check_mode=False)
    assert "create project alice" not in outcome.result["actions"]
    assert "set_default project alice" in outcome.result["actions"]
    assert outcome.before["default_project"] is False and outcome.after["default_project"] is True
    assert server.users[user_id]["default_project_id"] == project_id
