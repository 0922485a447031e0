"""run_server.yml refuses bad settings before anything changes, with a message saying what to fix."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
from playbook_runs import run_playbook

SCENARIO_VARS = REPO / "molecule" / "shared" / "group_vars" / "mlops_servers.yml"


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture
def inventory(tmp_path: Path) -> tuple[Path, str]:
    """An inventory for this machine with a stack name nothing else uses."""
    stack = f"preflight-{uuid.uuid4().hex[:8]}"
    variables = yaml.safe_load(SCENARIO_VARS.read_text(encoding="utf-8"))
    database, minio_api, minio_console, zenml = _free_ports(4)
    variables.update(
        database_port=database,
        minio_api_port=minio_api,
        minio_console_port=minio_console,
        zenml_server_port=zenml,
        mlops_stack_name=stack,
        mlops_network_name=stack,
        mlops_credentials_dir=str(tmp_path / "credentials"),
        python_env_path=str(tmp_path / "venv"),
    )
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "mlops_servers.yml").write_text(yaml.safe_dump(variables), encoding="utf-8")
    hosts = {
        "all": {
            "children": {
                "mlops_servers": {
                    "hosts": {
                        "preflight-test": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        }
                    }
                }
            }
        }
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    return tmp_path, stack


def _run(tmp_path: Path, extra_vars: dict) -> subprocess.CompletedProcess:
    inventory = str(tmp_path / "hosts.yml")
    return run_playbook(["-i", inventory, "playbooks/run_server.yml", "-e", json.dumps(extra_vars)], timeout=600)


def _assert_nothing_created(tmp_path: Path, stack: str) -> None:
    label = f"label=org.onprem-mlops.stack={stack}"
    for kind in ("container", "volume", "network"):
        listing = subprocess.run(
            ["docker", kind, "ls", "-q", "--filter", label] + (["-a"] if kind == "container" else []),
            capture_output=True,
            text=True,
            check=True,
        )
        assert listing.stdout.strip() == "", f"a {kind} of {stack} was created"
    assert not (tmp_path / "credentials").exists()
    assert not (tmp_path / "venv").exists()


@pytest.fixture
def busy_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


CASES = {
    "unknown engine": ({"database_engine": "postgres"}, "engine mysql|mariadb"),
    "mysql from local images": ({"database_engine": "mysql", "mlops_image_source": "local"}, "MariaDB only"),
    "memory beyond the host": ({"database_memory": "200g"}, "Lower database_memory"),
    "placeholder secret": ({"mlops_secrets": {"database_root_password": "changeme"}}, "is a placeholder"),
    "registration token": ({"gitlab_runner_token": "GR1348941abcdefghijkl"}, "Registration tokens are"),
    "shared bucket without prefix": ({"minio_shared_buckets": ["datasets"]}, "shared buckets named shared"),
    "two services on one port": ({"minio_api_port": 3306, "database_port": 3306}, "same port"),
    "missing local image": ({"zenml_server_version": "9.9.9"}, "Run `make images`"),
    "unsupported distribution": ({"preflight_supported_distributions": {"Plan9": ["4"]}}, "is not supported"),
}


@pytest.mark.parametrize(("extra_vars", "expected"), CASES.values(), ids=CASES.keys())
def test_bad_setting_refused_before_any_change(inventory, extra_vars, expected):
    tmp_path, stack = inventory
    completed = _run(tmp_path, extra_vars)
    assert completed.returncode != 0
    assert expected in completed.stdout, completed.stdout[-3000:]
    _assert_nothing_created(tmp_path, stack)


def test_port_used_by_another_program_refused(inventory, busy_port):
    tmp_path, stack = inventory
    completed = _run(tmp_path, {"zenml_server_port": busy_port})
    assert completed.returncode != 0
    assert f"Port {busy_port} on 127.0.0.1 (zenml server) is" in completed.stdout, completed.stdout[-3000:]
    _assert_nothing_created(tmp_path, stack)


# The secrets the credentials role generates (roles/credentials/defaults/main.yml).
MISSING_CANDIDATES = yaml.safe_load((REPO / "roles" / "credentials" / "defaults" / "main.yml").read_text())[
    "credentials_generated"
]


def _containers(stack_name: str) -> dict[str, str]:
    """Each container of the stack with its id and start time: what a recreation or restart changes."""
    listing = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=org.onprem-mlops.stack={stack_name}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    inspected = json.loads(subprocess.run(["docker", "inspect", *listing], capture_output=True, check=True).stdout)
    return {item["Name"]: f"{item['Id']} {item['State']['StartedAt']}" for item in inspected}


@pytest.mark.parametrize("kept", [[], ["zenml_admin_password", "minio_root_password"]], ids=["none", "some"])
def test_lost_credentials_refused_on_a_stack_with_data(stack, tmp_path, kept):
    """A control node without the secrets of a running stack must not generate new ones (issue 10, item 6)."""
    stack_name = stack.vars["mlops_stack_name"]
    credentials = tmp_path / "credentials"
    (credentials / "server").mkdir(parents=True)
    for name in kept:
        (credentials / "server" / name).write_text(stack.secrets[name], encoding="utf-8")
    before = _containers(stack_name)
    variables = {**stack.vars, "mlops_credentials_dir": str(credentials)}
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "mlops_servers.yml").write_text(yaml.safe_dump(variables), encoding="utf-8")
    (tmp_path / "hosts.yml").write_text(stack.inventory.read_text(encoding="utf-8"), encoding="utf-8")
    completed = run_playbook(["-i", str(tmp_path / "hosts.yml"), "playbooks/run_server.yml"], timeout=600)
    assert completed.returncode != 0
    output = completed.stdout
    assert f"The stack {stack_name} on" in output and "already holds data" in output, output[-3000:]
    assert "database_root_password" in output and "Nothing was changed" in output
    assert f"volume {stack_name}-database-data" in output
    missing = output.split("mlops_secrets gives ", 1)[1].split(". New secrets", 1)[0].split(", ")
    assert sorted(missing) == sorted(set(stack.secrets) & set(MISSING_CANDIDATES) - set(kept))
    assert sorted(path.name for path in (credentials / "server").iterdir()) == sorted(kept)
    assert _containers(stack_name) == before
