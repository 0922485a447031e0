"""The ZenML access-control decisions (roles/zenml_server/files/onprem_mlops_zenml), without a server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "roles" / "zenml_server" / "files"
sys.dont_write_bytecode = True  # the role copies this directory to servers: no __pycache__ in it
sys.path.insert(0, str(PACKAGE_DIR))

from onprem_mlops_zenml.policy import Owner, allowed, full_list_access, owner_of, project_owner
from onprem_mlops_zenml.routes import (
    Guard,
    Rule,
    classify,
    is_self,
    own_project_path,
    restricted_query,
    settings_update_allowed,
)

USER_TYPES = [
    "stack",
    "stack_component",
    "secret",
    "service_connector",
    "pipeline",
    "pipeline_run",
    "pipeline_deployment",
    "pipeline_build",
    "schedule",
    "artifact",
    "artifact_version",
    "model",
    "model_version",
    "code_repository",
    "tag",
    "run_template",
    "deployment",
    "service",
    "run_metadata",
    "trigger",
    "webhook",
    "flavor",
]
INSTANCE_ACTIONS = ["read", "update", "delete", "read_secret_value", "promote", "client", "share", "prune"]
ME = "5b0c3c53-8d39-4f4b-9d6b-9b5b4d2f0a01"
OTHER = "0f0e2a84-41a4-4b1c-8a5e-3f7c1d2b9e02"


@pytest.mark.parametrize(
    ("owner_id", "exists", "expected"),
    [(ME, True, Owner.SELF), (OTHER, True, Owner.OTHER), (None, True, Owner.SERVER), (None, False, Owner.MISSING)],
)
def test_owner_of(owner_id, exists, expected):
    assert owner_of(owner_id, ME, exists=exists) is expected


def test_owner_of_compares_uuids_and_strings():
    import uuid

    assert owner_of(uuid.UUID(ME), ME) is Owner.SELF


@pytest.mark.parametrize("resource_type", USER_TYPES)
@pytest.mark.parametrize("action", INSTANCE_ACTIONS)
def test_developer_never_touches_another_users_object(resource_type, action):
    assert not allowed(False, resource_type, action, Owner.OTHER)
    assert not allowed(False, resource_type, action, Owner.MISSING)


@pytest.mark.parametrize("resource_type", USER_TYPES)
@pytest.mark.parametrize("action", INSTANCE_ACTIONS)
def test_developer_does_everything_on_their_own_objects(resource_type, action):
    assert allowed(False, resource_type, action, Owner.SELF)


@pytest.mark.parametrize("resource_type", [*USER_TYPES, "project", "service_account"])
@pytest.mark.parametrize("action", [*INSTANCE_ACTIONS, "create", "backup_restore"])
@pytest.mark.parametrize("owner", [None, *Owner])
def test_administrator_does_everything(resource_type, action, owner):
    assert allowed(True, resource_type, action, owner)


@pytest.mark.parametrize(
    ("resource_type", "action", "expected"),
    [
        ("flavor", "read", True),
        ("project", "read", True),
        ("stack", "read", True),
        ("flavor", "update", False),
        ("flavor", "delete", False),
        ("project", "update", False),
        ("project", "delete", False),
        ("project", "share", False),
    ],
)
def test_developer_reads_but_does_not_change_server_objects(resource_type, action, expected):
    assert allowed(False, resource_type, action, Owner.SERVER) is expected


@pytest.mark.parametrize(
    ("resource_type", "action", "expected"),
    [
        ("stack", "create", True),
        ("stack_component", "create", True),
        ("secret", "create", True),
        ("pipeline_run", "create", True),
        ("flavor", "create", True),
        ("project", "create", False),
        ("service_account", "create", False),
        ("secret", "backup_restore", False),
        ("pipeline_deployment", "prune", False),
        ("artifact", "prune", False),
        ("stack", "read", False),
        ("stack", "share", False),
    ],
)
def test_developer_type_wide_permissions(resource_type, action, expected):
    assert allowed(False, resource_type, action, None) is expected


def test_full_list_access_is_the_administrators():
    assert full_list_access(True) and not full_list_access(False)


@pytest.mark.parametrize(
    ("project_name", "expected"),
    [("alice", Owner.SELF), ("default", Owner.SERVER), ("bob", Owner.OTHER), (None, Owner.MISSING)],
)
def test_project_owner_is_the_user_named_like_it(project_name, expected):
    assert project_owner(project_name, "alice", "default") is expected


@pytest.mark.parametrize("action", [*INSTANCE_ACTIONS, "create"])
def test_developer_only_reads_their_own_project_and_the_default_one(action):
    assert allowed(False, "project", action, Owner.SELF) is (action == "read")
    assert allowed(False, "project", action, Owner.SERVER) is (action == "read")
    assert not allowed(False, "project", action, Owner.OTHER)
    assert not allowed(False, "project", action, Owner.MISSING)


@pytest.mark.parametrize("resource_type", ["pipeline", "pipeline_run", "artifact", "model", "pipeline_snapshot"])
def test_developer_creates_only_in_their_own_project(resource_type):
    assert allowed(False, resource_type, "create", None, in_own_project=True)
    assert not allowed(False, resource_type, "create", None, in_own_project=False)
    assert allowed(True, resource_type, "create", None, in_own_project=False)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/v1/users", Guard(Rule.OWN_USER_LIST)),
        ("GET", "/api/v1/users/", Guard(Rule.OWN_USER_LIST)),
        ("POST", "/api/v1/users", Guard(Rule.ADMIN_ONLY)),
        ("GET", "/api/v1/users/alice", Guard(Rule.SELF_ONLY, "alice")),
        ("PUT", f"/api/v1/users/{OTHER}", Guard(Rule.SELF_ONLY, OTHER)),
        ("DELETE", "/api/v1/users/bob", Guard(Rule.SELF_ONLY, "bob")),
        ("GET", "/api/v1/users/a%20b", Guard(Rule.SELF_ONLY, "a b")),
        ("PUT", "/api/v1/users/bob/deactivate", Guard(Rule.ADMIN_ONLY)),
        ("PUT", "/api/v1/users/bob/activate", None),
        ("PUT", "/api/v1/users/bob/email-opt-in", None),
        ("POST", "/api/v1/users/resource_membership", Guard(Rule.ADMIN_ONLY)),
        ("GET", "/api/v1/service_accounts", Guard(Rule.ADMIN_ONLY)),
        ("POST", "/api/v1/service_accounts", Guard(Rule.ADMIN_ONLY)),
        ("POST", f"/api/v1/service_accounts/{OTHER}/api_keys", Guard(Rule.ADMIN_ONLY)),
        ("PUT", "/api/v1/secrets_operations/backup", Guard(Rule.ADMIN_ONLY)),
        ("PUT", "/api/v1/settings", Guard(Rule.SETTINGS)),
        ("GET", "/api/v1/settings", None),
        ("GET", "/api/v1/current-user", None),
        ("PUT", "/api/v1/current-user", None),
        ("GET", "/api/v1/stacks", None),
        ("PUT", f"/api/v1/components/{OTHER}", None),
        ("GET", "/api/v1/service_accountsX", None),
        ("GET", "/health", None),
        ("GET", "/api/v1/tags", Guard(Rule.OWN_LIST)),
        ("GET", "/api/v1/model_version_artifacts", Guard(Rule.OWN_LIST)),
        ("GET", "/api/v1/model_version_pipeline_runs", Guard(Rule.OWN_LIST)),
        ("GET", f"/api/v1/tags/{OTHER}", Guard(Rule.OWN_TAG, OTHER)),
        ("PUT", f"/api/v1/tags/{OTHER}", None),
        ("POST", "/api/v1/tags", None),
    ],
)
def test_classify(method, path, expected):
    assert classify(method, path) == expected


SCOPED = frozenset({"/api/v1/runs", "/api/v1/pipelines"})


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/runs", "", Guard(Rule.OWN_PROJECT_QUERY)),
        ("GET", "/api/v1/runs/", "size=20&sort_by=desc:created", Guard(Rule.OWN_PROJECT_QUERY)),
        ("GET", "/api/v1/pipelines", "project=default", Guard(Rule.OWN_PROJECT_QUERY)),
        ("GET", "/api/v1/runs", "project=5b0c3c53-8d39-4f4b-9d6b-9b5b4d2f0a01", None),
        ("GET", "/api/v1/runs", "project=bob", None),
        ("POST", "/api/v1/runs", "", None),
        ("GET", "/api/v1/stacks", "", None),
        ("GET", "/api/v1/projects/default", "", Guard(Rule.OWN_PROJECT_PATH, "")),
        ("GET", "/api/v1/projects/default/statistics", "", Guard(Rule.OWN_PROJECT_PATH, "/statistics")),
        ("GET", "/api/v1/projects/defaults", "", None),
        ("DELETE", "/api/v1/projects/default", "", None),
        ("GET", "/api/v1/projects/bob", "", None),
    ],
)
def test_requests_for_the_default_project(method, path, query, expected):
    assert classify(method, path, query, SCOPED) == expected


def test_own_project_path():
    assert own_project_path("alice", "/statistics") == "/api/v1/projects/alice/statistics"
    assert own_project_path("alice", "") == "/api/v1/projects/alice"


@pytest.mark.parametrize(
    ("target", "expected"),
    [(ME, True), (ME.upper(), True), ("alice", True), ("Alice", False), (OTHER, False), ("bob", False)],
)
def test_is_self(target, expected):
    assert is_self(target, ME, "alice") is expected


@pytest.mark.parametrize(
    "query",
    ["", "name=bob", f"id={OTHER}", f"id=in:{OTHER},{ME}&size=1000", "id=&hydrate=true"],
)
@pytest.mark.parametrize("parameter", ["id", "user"])
def test_restricted_query_keeps_only_the_user(query, parameter):
    from urllib.parse import parse_qsl

    query = query.replace("id=", f"{parameter}=")
    pairs = parse_qsl(restricted_query(query, parameter, ME), keep_blank_values=True)
    assert [value for name, value in pairs if name == parameter] == [ME]
    assert [pair for pair in pairs if pair[0] != parameter] == [p for p in parse_qsl(query) if p[0] != parameter]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"onboarding_state": {"x": true}}', True),
        (b'{"onboarding_state": null, "server_name": null}', True),
        (b"{}", True),
        (b"", True),
        (b'{"server_name": "mine"}', False),
        (b'{"enable_analytics": false, "onboarding_state": {}}', False),
        (b"[]", False),
        (b"not json", False),
    ],
)
def test_settings_update_allowed(body, expected):
    assert settings_update_allowed(body) is expected


def test_the_rbac_class_implements_zenmls_interface():
    pytest.importorskip("zenml", reason="the server-side classes need zenml[server], which the CI venv does not hold")
    from onprem_mlops_zenml.rbac import OwnerOnlyRBAC

    assert not getattr(OwnerOnlyRBAC, "__abstractmethods__", None)
