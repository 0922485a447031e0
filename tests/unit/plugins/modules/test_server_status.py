"""Unit tests of the server_status module: options, the result's shape, and refusals, against fakes."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.onprem.mlops.plugins.module_utils import _status
from ansible_collections.onprem.mlops.plugins.modules import server_status
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_status import NoCgroups, make_stack

LOGIN = {
    "login_password": "root-password",
    "endpoint": "127.0.0.1:9000",
    "access_key": "root",
    "secret_key": "minio-root-secret",
}


def run(args: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, **stack_options) -> dict:
    stack = make_stack(**stack_options)
    monkeypatch.setattr(server_status, "connect", lambda module: stack.clients)
    monkeypatch.setattr(server_status, "open_session", lambda params: stack.session)
    monkeypatch.setattr(server_status, "DockerApi", lambda host: stack.docker)
    monkeypatch.setattr(_status.engine, "CgroupReader", NoCgroups)
    with patch_module_args({**LOGIN, "stack": "st", "cpu_sample_seconds": 0, **args}), pytest.raises(SystemExit):
        server_status.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check_mode", [True, False])
def test_report(check_mode: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    result = run({"_ansible_check_mode": check_mode}, monkeypatch, capsys)
    assert result["changed"] is False
    assert result["status"]["ok"] and result["status"]["thresholds"] == {"min_free_disk": 5 * 1024**3,
                                                                         "quota_percent": 90.0}  # fmt: skip
    assert result["table"][-1] == "No problems."
    assert result["markdown"].startswith("# Stack st at ")
    assert "root-password" not in json.dumps(result)


def test_thresholds_are_options(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    result = run({"quota_percent": 50, "min_free_disk": "1MiB"}, monkeypatch, capsys,
                 usage={"user000": 60}, quotas={"user000": 100})  # fmt: skip
    assert result["status"]["problems"] == [
        "user user000: bucket user000 holds 60 B of its 100 B quota (60%, threshold 50%)"
    ]
    assert result["status"]["thresholds"]["min_free_disk"] == 1024**2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param({"min_free_disk": "lots"}, "size 'lots'", id="bad-size"),
        pytest.param({"docker_host": "tcp://h:2375"}, "is not unix://", id="tcp-docker"),
        pytest.param({"bucket_usage": "guess"}, "bucket_usage", id="bad-source"),
    ],
)
def test_refusals(args: dict, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    stack = make_stack()
    monkeypatch.setattr(server_status, "connect", lambda module: stack.clients)
    with patch_module_args({**LOGIN, "stack": "st", **args}), pytest.raises(SystemExit):
        server_status.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and message in result["msg"]
