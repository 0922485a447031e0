"""The contract the tenant modules and the users filters share: names, roles, options, results."""

import inspect

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.onprem.mlops.plugins.filter import users as filters
from ansible_collections.onprem.mlops.plugins.module_utils import _minio_tenant, _tenant, _zenml_tenant
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import (
    ROLES,
    Outcome,
    PartialFailure,
    tenants_result,
    user_problems,
    user_resources,
    username_errors,
    users_argument_spec,
)


@pytest.mark.parametrize("name", ["abc", "alice", "bob42", "a" * 20, "x1y2z3", "teacher", "mlopsadmin"])
def test_valid_usernames(name: str) -> None:
    assert username_errors(name) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        # The limit database_tenant and zenml_tenant had before the rule was shared.
        ("a" * 32, "has 32 characters: a username has 3 to 20"),
        ("minioadmin", "reserved prefix"),
        ("\u00e9lise", "only letters a-z and digits"),
        (None, "a username is required"),
    ],
)
def test_invalid_usernames_say_why(name: object, fragment: str) -> None:
    assert any(fragment in error for error in username_errors(name)), username_errors(name)


@pytest.mark.parametrize("name", ["alice", "Alice", "a" * 21, "root", "sharedx", "9lives", "x"])
def test_the_filter_applies_the_same_rule(name: str) -> None:
    assert filters.username_errors(name) == username_errors(name)


def test_the_filter_says_how_to_give_a_missing_name() -> None:
    assert filters.username_errors("") == ["a username is required (-e username=NAME)"]


def test_one_set_of_roles_and_resource_names() -> None:
    assert ROLES == ("developer", "administrator")
    assert filters.user_resources is user_resources
    names = user_resources("alice", "runs_")
    assert names["mysql_schema"] == "runs_alice"
    assert names["bucket"] == names["s3_access_key"] == names["zenml_user"] == "alice"
    zenml = _zenml_tenant.names("alice")
    assert zenml["stack"] == names["zenml_stack"] == "alice-stack"
    assert (zenml["s3_secret"], zenml["mlflow_secret"]) == ("alice-s3", "alice-mlflow")
    assert zenml["project"] == names["zenml_project"] == "alice"
    assert (zenml["artifact_store"], zenml["orchestrator"]) == ("alice-artifact-store", "alice-orchestrator")


def _validated(spec: dict, params: dict) -> dict:
    result = ArgumentSpecValidator(spec).validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_users_argument_spec() -> None:
    spec = users_argument_spec()
    params = _validated(spec, {"users": [{"name": "alice", "password": "pw"}]})
    assert params["update_password"] == "on_create"
    assert params["users"] == [{"name": "alice", "role": None, "password": "pw"}]
    assert spec["users"]["options"]["password"]["no_log"] is True
    assert spec["users"]["options"]["role"]["choices"] == list(ROLES)
    assert ArgumentSpecValidator(spec).validate({"users": [{"name": "a", "role": "teacher"}]}).error_messages


def test_users_argument_spec_with_a_default_role_and_more_options() -> None:
    spec = users_argument_spec(role_default="developer", s3_bucket={"type": "str"})
    params = _validated(spec, {"users": [{"name": "alice", "s3_bucket": "alice"}]})
    assert params["users"][0] == {"name": "alice", "role": "developer", "password": None, "s3_bucket": "alice"}


@pytest.mark.parametrize(
    ("users", "login", "role_required", "expected"),
    [
        ([{"name": "alice", "role": "developer"}], "root", True, []),
        ([{"name": "Alice"}], None, False, ["invalid user names ['Alice']: 'Alice' has upper-case letters"]),
        ([{"name": "bob"}, {"name": "bob"}], None, False, ["users ['bob'] are listed more than once"]),
        ([{"name": "admin1"}], "admin1", False, ["admin1 is the admin account this module logs in with"]),
        ([{"name": "bob"}], None, True, ["users ['bob'] have no role"]),
        ([{"name": "bob"}], None, False, []),
    ],
)
def test_user_problems(users: list, login: str | None, role_required: bool, expected: list[str]) -> None:
    problems = user_problems(users, login, role_required)
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem


def test_every_problem_at_once() -> None:
    problems = user_problems([{"name": "x"}, {"name": "x"}, {"name": "root"}], "root", role_required=True)
    assert [problem.split(" ")[0] for problem in problems] == ["invalid", "users", "root", "users"]


def test_tenants_result_keeps_every_user_in_order() -> None:
    outcomes = [
        Outcome({"name": "bob", "changed": False}, {"user": 1}, {"user": 1}),
        Outcome({"name": "alice", "changed": True}, {}, {"user": 2}),
    ]
    assert tenants_result(outcomes) == {
        "changed": True,
        "diff": {
            "before": {"users": {"bob": {"user": 1}, "alice": {}}},
            "after": {"users": {"bob": {"user": 1}, "alice": {"user": 2}}},
        },
        "users": [{"name": "bob", "changed": False}, {"name": "alice", "changed": True}],
    }


@pytest.mark.parametrize(("changed", "expected"), [(False, False), (True, True)])
def test_tenants_result_of_nobody(changed: bool, expected: bool) -> None:
    result = tenants_result([], changed=changed)
    assert result["changed"] is expected and result["users"] == []


def test_partial_failure_names_the_first_failure_and_keeps_the_result() -> None:
    result = tenants_result([Outcome({"name": "alice", "changed": True})])
    failure = PartialFailure(result, [("bob", RuntimeError("refused")), ("carol", RuntimeError("gone"))])
    assert failure.result is result and [name for name, _ in failure.failures] == ["bob", "carol"]
    assert "2 user(s) failed, the first bob: refused" in str(failure)


@pytest.mark.parametrize("module", [_minio_tenant, _zenml_tenant], ids=["minio", "zenml"])
def test_the_tenant_modules_follow_the_contract(module: object) -> None:
    contract = inspect.signature(_tenant.EnsureTenants.__call__)
    implementation = inspect.signature(module.ensure_tenants)
    assert list(implementation.parameters)[1:] == list(contract.parameters)[2:]
    assert implementation.return_annotation in ("TenantsResult", _tenant.TenantsResult)
