"""Unit tests of the zenml_tenant module: options, refusals, check mode, diff, secrets and errors."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.onprem.mlops.plugins.module_utils import zenml
from ansible_collections.onprem.mlops.plugins.modules import zenml_tenant
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_zenml_fake_server import FakeZenml

LOGIN = {"server_url": "http://zenml:8080", "admin_username": "root", "admin_password": "admin-pw"}


def person(name: str, role: str = "developer") -> dict:
    return {
        "name": name,
        "role": role,
        "password": f"{name}-password",
        "s3_access_key": name,
        "s3_secret_key": f"{name}-s3-secret",
        "s3_bucket": name,
        "mlflow_username": name,
        "mlflow_password": f"{name}-mlflow-secret",
    }


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeZenml:
    fake = FakeZenml()
    monkeypatch.setattr(zenml, "new_session", lambda validate_certs: fake)
    return fake


def run(args: dict, capsys: pytest.CaptureFixture) -> dict:
    with patch_module_args({**LOGIN, **args}), pytest.raises(SystemExit):
        zenml_tenant.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check_mode", [True, False])
def test_present(server: FakeZenml, capsys: pytest.CaptureFixture, check_mode: bool) -> None:
    args = {"users": [person("alice"), person("carol", "administrator")], "_ansible_check_mode": check_mode}
    result = run({**args, "_ansible_diff": True}, capsys)
    assert result["changed"]
    assert [(user["name"], user["role"], user["changed"]) for user in result["users"]] == [
        ("alice", "developer", True),
        ("carol", "administrator", True),
    ]
    assert set(result["diff"]["after"]["users"]) == {"alice", "carol"}
    assert result["diff"]["before"] == {"users": {"alice": {}, "carol": {}}}
    assert (server.user("carol") is None) is check_mode
    assert (server.writes() == []) is check_mode


def test_second_run_changes_nothing(server: FakeZenml, capsys: pytest.CaptureFixture) -> None:
    args = {"users": [person("alice"), person("bob")]}
    run(args, capsys)
    again = run(args, capsys)
    assert not again["changed"] and [user["actions"] for user in again["users"]] == [[], []]
    assert again["users"][0]["stack"]["id"] == next(iter(server.stacks.values()))["id"]


def test_secrets_are_not_returned(server: FakeZenml, capsys: pytest.CaptureFixture) -> None:
    result = run({"users": [person("alice")], "_ansible_diff": True}, capsys)
    for secret in ("alice-password", "alice-s3-secret", "alice-mlflow-secret", LOGIN["admin_password"]):
        assert secret not in json.dumps(result)


def test_bad_names_are_refused_before_the_server_is_called(server: FakeZenml, capsys: pytest.CaptureFixture) -> None:
    result = run({"users": [person("alice"), person("Bob")]}, capsys)
    assert result["failed"]
    assert "invalid user names ['Bob']" in result["msg"]
    assert server.calls == []


def test_absent(server: FakeZenml, capsys: pytest.CaptureFixture) -> None:
    run({"users": [person("alice")]}, capsys)
    removal = {"users": [{"name": "alice"}, {"name": "nosuchuser"}], "state": "absent"}
    checked = run({**removal, "_ansible_check_mode": True, "_ansible_diff": True}, capsys)
    assert checked["changed"] and server.user("alice") is not None
    assert checked["diff"]["before"]["users"]["alice"] and checked["diff"]["before"]["users"]["nosuchuser"] == {}
    result = run(removal, capsys)
    assert [(user["name"], user["account"], user["changed"]) for user in result["users"]] == [
        ("alice", "deleted", True),
        ("nosuchuser", "absent", False),
    ]
    assert not run(removal, capsys)["changed"]


def test_a_kept_account_warns(
    server: FakeZenml, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded at the call: once the controller's code is imported (other tests do), ansible-core routes
    # module warnings elsewhere than into the result.
    warnings: list[str] = []
    monkeypatch.setattr(zenml_tenant.AnsibleModule, "warn", lambda _module, text: warnings.append(text))
    run({"users": [person("alice")]}, capsys)
    server.user("alice")["other_resources"] = 1
    result = run({"users": [{"name": "alice"}], "state": "absent"}, capsys)
    assert result["users"][0]["account"] == "deactivated"
    assert len(warnings) == 1 and "alice because it still owns other resources" in warnings[0]
    assert "warnings" not in result["users"][0]


def test_failures_name_the_people_and_keep_the_others(server: FakeZenml, capsys: pytest.CaptureFixture) -> None:
    server.add_user("bob", "not-the-password")
    result = run({"users": [person("alice"), person("bob")]}, capsys)
    assert result["failed"] and result["changed"]
    assert result["msg"].startswith("managing the ZenML resources of bob: ZenML refuses the login of bob")
    assert result["failed_users"] == ["bob"]
    assert [user["name"] for user in result["users"]] == ["alice"]


def test_server_errors_say_what_to_check(server: FakeZenml, capsys: pytest.CaptureFixture) -> None:
    server.fail_next[("POST", "/api/v1/users")] = (500, {"detail": ["RuntimeError", "database is locked"]})
    result = run({"users": [person("alice")]}, capsys)
    assert "HTTP 500 RuntimeError: database is locked" in result["msg"]
    assert "check that the server runs ZenML 0.98.0 (it reports 0.98.0)" in result["msg"]


def test_a_wrong_admin_password(server: FakeZenml, capsys: pytest.CaptureFixture) -> None:
    result = run({"users": [person("alice")], "admin_password": "wrong"}, capsys)
    assert "check admin_username and admin_password" in result["msg"]
