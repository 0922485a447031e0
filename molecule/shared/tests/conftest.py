"""Shared fixtures: the scenario's variables, the generated credentials and Docker on the server."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
import yaml

_REPO = Path(__file__).resolve().parents[3]
for _path in (_REPO / "collections", _REPO / "tests" / "support"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

SERVICES = ("database", "minio", "zenml")


@pytest.fixture(scope="session")
def stack_vars() -> dict:
    """The scenario's variables, plus overrides a scenario gives as JSON.

    MLOPS_TEST_VARS names one variables file or several separated by ``:`` (group vars, then host vars:
    later files win). MLOPS_TEST_CONNECT is the address the verifier reaches the services at when it is
    not the one they are published on (a VM's ports forwarded to this machine).
    """
    variables: dict = {}
    for path in os.environ["MLOPS_TEST_VARS"].split(os.pathsep):
        with open(path.strip(), encoding="utf-8") as handle:
            variables.update(yaml.safe_load(handle))
    variables.update(json.loads(os.environ.get("MLOPS_TEST_OVERRIDES", "{}")))
    variables.setdefault("mlops_connect_address", os.environ.get("MLOPS_TEST_CONNECT", variables["mlops_bind_address"]))
    ca_file = Path(os.environ["MLOPS_TEST_CREDENTIALS"]) / "tls" / "ca.crt"
    if variables.get("mlops_tls_certificates", "server_ca") != "none" and ca_file.exists():
        variables.setdefault("mlops_test_ca_file", str(ca_file))
    return variables


@pytest.fixture(scope="session")
def credentials_dir() -> Path:
    return Path(os.environ["MLOPS_TEST_CREDENTIALS"])


@pytest.fixture(scope="session")
def secrets(credentials_dir: Path) -> dict[str, str]:
    server = credentials_dir / "server"
    return {path.name: path.read_text(encoding="utf-8").strip() for path in server.iterdir()}


def container_name(stack_vars: dict, service: str) -> str:
    return f"{stack_vars['mlops_stack_name']}-{service}"


def inspect(host, name: str) -> dict:
    """``docker inspect`` on the server the scenario deployed."""
    return json.loads(host.check_output(f"docker inspect {name}"))[0]


def health_states(host, stack_vars: dict) -> dict[str, str]:
    states = {}
    for service in SERVICES:
        name = container_name(stack_vars, service)
        result = host.run(f"docker inspect --format '{{{{.State.Health.Status}}}}' {name}")
        states[name] = result.stdout.strip() if result.rc == 0 else "missing"
    return states


def wait_all_healthy(host, stack_vars: dict, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = health_states(host, stack_vars)
        if all(state == "healthy" for state in states.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"containers not healthy after {timeout} s: {states}")
        time.sleep(2)
