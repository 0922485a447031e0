"""Username rules, resource names, S3 policies and rosters."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.mlops.plugins.filter.users import (
    normalize_username,
    parse_roster,
    roster_plan,
    s3_policy,
    secrets_of,
    tenant_users,
    user_resources,
    username_errors,
    users_table,
)

REPO = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize("name", ["alice", "bob42", "abc", "a" * 20, "x1y2z3"])
def test_valid_usernames(name):
    assert username_errors(name) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("Alice", "upper-case letters: use 'alice'"),
        ("al ice", "only letters a-z and digits"),
        ("alice'; DROP TABLE users; --", "only letters a-z and digits"),
        ('bob"', "only letters a-z and digits"),
        ("a", "has 1 characters"),
        ("ab", "has 2 characters"),
        ("a" * 40, "has 40 characters"),
        ("a" * 21, "has 21 characters"),
        ("root", "reserved"),
        ("admin", "reserved"),
        ("template", "reserved"),
        ("shared", "reserved prefix"),
        ("sharedx", "reserved prefix"),
        ("shared-x", "only letters a-z and digits"),
        ("9lives", "must start with a letter"),
        ("al_ice", "only letters a-z and digits"),
        ("al-ice", "only letters a-z and digits"),
        ("élise", "only letters a-z and digits"),
        ("", "a username is required"),
        (None, "a username is required"),
    ],
)
def test_invalid_usernames_say_why(name, fragment):
    errors = username_errors(name)
    assert errors
    assert any(fragment in error for error in errors), errors


@pytest.mark.parametrize(
    ("raw", "normal"), [("  alice ", "alice"), ("\uff41\uff4c\uff49\uff43\uff45", "alice"), (None, ""), ("Bob", "Bob")]
)
def test_normalize_only_trims_and_folds(raw, normal):
    assert normalize_username(raw) == normal


def test_user_resources_names_everything():
    names = user_resources("alice")
    assert names["mysql_schema"] == "mlflow_alice"
    assert names["bucket"] == "alice"
    assert names["zenml_stack"] == "alice-stack"
    assert user_resources("bob", schema_prefix="runs_")["mysql_schema"] == "runs_bob"


def _resources(policy: dict) -> set[str]:
    return {resource for statement in policy["Statement"] for resource in statement.get("Resource", [])}


@pytest.mark.parametrize(
    ("kind", "kwargs", "expected_resources"),
    [
        (
            "developer",
            {},
            {
                "arn:aws:s3:::${aws:username}",
                "arn:aws:s3:::${aws:username}/*",
                "arn:aws:s3:::shared*",
                "arn:aws:s3:::shared*/*",
            },
        ),
        ("developer", {"shared_prefix": "pub"}, {"arn:aws:s3:::pub*", "arn:aws:s3:::pub*/*"}),
        ("administrator", {}, {"arn:aws:s3:::*"}),
        ("bucket_readwrite", {"bucket": "runner-cache"}, {"arn:aws:s3:::runner-cache", "arn:aws:s3:::runner-cache/*"}),
    ],
)
def test_s3_policy_resources(kind, kwargs, expected_resources):
    assert expected_resources <= _resources(s3_policy(kind, **kwargs))


def test_developer_policy_lists_all_buckets_only_when_asked():
    def actions(policy: dict) -> set[str]:
        return {action for statement in policy["Statement"] for action in statement["Action"]}

    assert "s3:ListAllMyBuckets" not in actions(s3_policy("developer"))
    assert "arn:aws:s3:::*" not in _resources(s3_policy("developer"))
    assert "s3:ListAllMyBuckets" in actions(s3_policy("developer", list_all_buckets=True))


def test_developer_policy_never_writes_shared_or_creates_buckets():
    policy = s3_policy("developer")
    for statement in policy["Statement"]:
        if any("shared" in resource for resource in statement["Resource"]):
            assert set(statement["Action"]) <= {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}
        assert "s3:CreateBucket" not in statement["Action"]
        assert "s3:*" not in statement["Action"]


@pytest.mark.parametrize(("kind", "kwargs"), [("bucket_readwrite", {}), ("superuser", {})])
def test_s3_policy_refuses_unknown_or_incomplete(kind, kwargs):
    with pytest.raises(AnsibleFilterError):
        s3_policy(kind, **kwargs)


CSV_ROSTER = """username,role
alice,developer
 bob , administrator
carol,
Dave,developer
eve,wizard
alice,developer
"""


def test_parse_csv_roster_reports_every_problem_with_its_line():
    parsed = parse_roster(CSV_ROSTER, "csv")
    assert parsed["users"] == [
        {"username": "alice", "role": "developer"},
        {"username": "bob", "role": "administrator"},
        {"username": "carol", "role": "developer"},
    ]
    assert len(parsed["errors"]) == 3
    assert parsed["errors"][0].startswith("line 5: 'Dave' has upper-case")
    assert "role 'wizard'" in parsed["errors"][1]
    assert "listed twice (first at line 2)" in parsed["errors"][2]


@pytest.mark.parametrize(
    "content",
    [
        "- {username: alice, role: developer}\n- bob\n",
        "users:\n  - {username: alice, role: developer}\n  - {username: bob}\n",
    ],
)
def test_parse_yaml_roster(content):
    parsed = parse_roster(content, "yaml")
    assert parsed == {
        "users": [{"username": "alice", "role": "developer"}, {"username": "bob", "role": "developer"}],
        "errors": [],
    }


@pytest.mark.parametrize(
    ("content", "roster_format"), [("name,role\nalice,developer\n", "csv"), ("alice", "yaml"), ("x", "xml")]
)
def test_parse_roster_refuses_malformed_files(content, roster_format):
    with pytest.raises(AnsibleFilterError):
        parse_roster(content, roster_format)


def test_roster_plan():
    registered = [
        {"username": "alice", "role": "developer"},
        {"username": "bob", "role": "developer"},
        {"username": "olduser", "role": "developer"},
        {"username": "teacher", "role": "administrator"},
    ]
    roster = [
        {"username": "alice", "role": "developer"},
        {"username": "bob", "role": "administrator"},
        {"username": "newbie", "role": "developer"},
    ]
    plan = roster_plan(registered, roster)
    assert plan["add"] == [{"username": "newbie", "role": "developer"}]
    assert plan["keep"] == [{"username": "alice", "role": "developer"}]
    assert plan["absent"] == [
        {"username": "olduser", "role": "developer"},
        {"username": "teacher", "role": "administrator"},
    ]
    assert plan["prunable"] == [{"username": "olduser", "role": "developer"}]
    assert plan["role_conflicts"] == [{"username": "bob", "registered": "developer", "roster": "administrator"}]


def test_tenant_users_maps_secrets_and_names():
    batch = [{"username": "alice", "role": "developer"}]
    secrets = {"alice/mysql_password": "pw1", "alice/s3_secret_key": "sk1"}
    assert tenant_users(batch, secrets, password="mysql_password") == [
        {"name": "alice", "role": "developer", "password": "pw1"}
    ]
    assert tenant_users(batch, secrets, same_as_name=["s3_bucket"], s3_secret_key="s3_secret_key") == [
        {"name": "alice", "role": "developer", "s3_bucket": "alice", "s3_secret_key": "sk1"}
    ]
    with pytest.raises(AnsibleFilterError, match="no secret"):
        tenant_users(batch, secrets, password="zenml_password")


def test_secrets_of_picks_one_user():
    secrets = {"alice/mysql_password": "a", "alicex/mysql_password": "b", "bob/s3_secret_key": "c"}
    assert secrets_of(secrets, "alice") == {"mysql_password": "a"}


def test_users_table():
    registered = [{"username": "alice", "role": "developer"}, {"username": "bob", "role": "administrator"}]
    buckets = [{"bucket": {"name": "alice", "usage": {"size": 2048, "objects": 3}}}, {"failed": True}]
    schemas = [{"name": "mlflow_alice", "size": 1048576}]
    lines = users_table(registered, buckets, schemas)
    assert lines[0].split() == ["USER", "ROLE", "BUCKET", "SIZE", "OBJECTS", "SCHEMA", "SIZE"]
    assert lines[1].split() == ["alice", "developer", "2.0", "KiB", "3", "1.0", "MiB"]
    assert lines[2].split() == ["bob", "administrator", "missing", "-", "missing"]
    assert lines[3] == "2 user(s)"


def test_credential_files_lists_env_and_md_per_user_with_their_own_secrets():
    from ansible_collections.onprem.mlops.plugins.filter.users import credential_files

    batch = [{"username": "alice", "role": "developer"}, {"username": "carol", "role": "administrator"}]
    secrets = {"alice/mysql_password": "a1", "carol/mysql_password": "c1"}
    files = credential_files(batch, "/srv/credentials/", "mlflow_", secrets)
    assert [f["dest"] for f in files] == [
        "/srv/credentials/alice.env",
        "/srv/credentials/alice.md",
        "/srv/credentials/carol.env",
        "/srv/credentials/carol.md",
    ]
    assert [f["src"] for f in files[:2]] == ["env.j2", "md.j2"]
    alice = files[0]["vars"]
    assert alice["__user_role"] == "developer"
    assert alice["__user_secret"] == {"mysql_password": "a1"}
    assert alice["__user"]["mysql_schema"] == "mlflow_alice"
    assert files[2]["vars"]["__user_secret"] == {"mysql_password": "c1"}


def test_the_user_whose_schema_would_be_the_mlflow_template_is_reserved():
    defaults = yaml.safe_load((REPO / "roles" / "users" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    prefix = defaults["users_schema_prefix"]
    template = defaults["users_mlflow_template_schema"].replace("{{ users_schema_prefix }}", prefix)
    owner = template.removeprefix(prefix)
    assert user_resources(owner, prefix)["mysql_schema"] == template
    assert any("reserved" in error for error in username_errors(owner))
